# Sourced by the walks that run Python against a release server (client-walk.sh,
# fhir-walk.sh); they define `log` and `die` first.
#
#   pinned_venv VENV NAME MAX_MINOR PIN...   # CPython 3.11 to 3.MAX_MINOR
#
# Sets PYTHON to the newest fitting CPython found and makes VENV hold exactly the PINs
# (installed with --no-deps, then `pip check`ed), reusing it while its stamp VENV/NAME.pins
# names the same pins on a fitting interpreter. A caller that defines `verify_venv` has it
# run on a fresh install, before the stamp is written.
#
#   release_binary                           # sets BIN
#
# Builds the release binary (CARGO_TARGET_DIR honoured) and sets BIN to its path.

pinned_venv() {
    local venv=$1 name=$2 max=$3 py
    shift 3
    fits() { "$1" -c "import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, $max))" 2>/dev/null; }
    PYTHON=""
    for py in python3.13 python3.12 /root/.pyenv/versions/3.13*/bin/python3 \
        /root/.pyenv/versions/3.12*/bin/python3 python3.11 python3; do
        if command -v "$py" >/dev/null 2>&1 && fits "$py"; then PYTHON=$py; break; fi
    done
    [ -n "$PYTHON" ] || die "needs CPython 3.11 to 3.$max"
    local stamp="$venv/$name.pins"
    if ! fits "$venv/bin/python" || [ "$(cat "$stamp" 2>/dev/null)" != "$*" ]; then
        log "installing $1 into $venv ($("$PYTHON" --version))"
        rm -rf "$venv"
        "$PYTHON" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$@"
        "$venv/bin/python" -m pip check >/dev/null || { "$venv/bin/python" -m pip check >&2; die "the pins are incomplete"; }
        if declare -F verify_venv >/dev/null; then verify_venv; fi
        printf '%s' "$*" >"$stamp"
    fi
}

release_binary() {
    cargo build --release --quiet
    local target=${CARGO_TARGET_DIR:-target}
    case $target in /*) ;; *) target=$PWD/$target ;; esac
    BIN=$target/release/carebook
    [ -x "$BIN" ] || die "no carebook binary at $BIN"
}
