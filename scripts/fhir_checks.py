"""What scripts/fhir_walk.py is made of: HTTP, FHIR R4 validation, the tally, the fixtures.

Every answer of the FHIR facade goes through `expect`, `outcome` or `bundle` here, which check
its status, its `Content-Type: application/fhir+json`, the JSON rules of FHIR (no null, no
empty object, array or string) and the body itself with fhir.resources 6.4.0 (R4, 4.0.1):
`construct_fhir_element(body["resourceType"], body)`, which also validates the resources inside
a Bundle. fhir.resources checks neither codes against their value sets nor an integer's JSON
type, so the walk checks the codes and numbers it reads itself; the Parameters it sends are
validated too. Each passed check counts; each failed one is kept with its message and printed
at once, and the walk prints them all again at the end. Below them: the fixtures laid through
carebook's JSON API (urllib only), the JSON API's seat figures that a Slot must agree with,
and what an Appointment must be in each status (`shape`), compared with the JSON API's view.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from types import SimpleNamespace as NS
from typing import Any, Callable

from fhir.resources import construct_fhir_element

FHIR_JSON = "application/fhir+json"
SEATS_FREE = "urn:carebook:fhir:seats-free"
HOLD_EXPIRES = "urn:carebook:fhir:hold-expires"
# FHIR R4's IssueType value set (http://hl7.org/fhir/R4/valueset-issue-type.html).
ISSUE_TYPES = set(
    "invalid structure required value invariant security login unknown expired forbidden suppressed processing"
    " not-supported duplicate multiple-matches not-found deleted too-long code-invalid extension too-costly"
    " business-rule conflict transient lock-error no-store exception timeout incomplete throttled informational".split()
)


class Abort(Exception):
    """A failure after which the walk cannot go on (its message is already kept)."""


class Tally:
    """Passed checks and failure messages; safe to use from several threads."""

    def __init__(self) -> None:
        self.passed = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def check(self, condition: bool, message: str) -> bool:
        with self._lock:
            if condition:
                self.passed += 1
            else:
                self.failures.append(message)
                print(f"  FAILED: {message}", flush=True)
        return condition


TALLY = Tally()


def check(condition: bool, message: str) -> bool:
    return TALLY.check(bool(condition), message)


def fail(message: str) -> None:
    TALLY.check(False, message)


def need(value: Any, what: str) -> Any:
    """The value a later step depends on; stops the walk when an earlier check lost it."""
    if value is None:
        raise Abort(what)
    return value


@dataclass
class Answer:
    method: str
    url: str
    status: int
    headers: dict[str, str]
    text: str
    json: Any

    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def short(self) -> str:
        return self.text[:400].replace("\n", " ")


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    fhir: bool = True,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request: FHIR JSON (or plain JSON with fhir=False) both ways; never raises on 4xx/5xx."""
    media = FHIR_JSON if fhir else "application/json"
    sent = {"Accept": media}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        sent["Content-Type"] = media
    if token:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw, got = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, got = error.code, error.read(), error.headers
    except (urllib.error.URLError, OSError) as error:
        fail(f"{method} {url}: no answer: {error}")
        raise Abort(f"{method} {url}") from error
    text = raw.decode("utf-8", "replace")
    try:
        parsed = json.loads(text) if text.strip() else None
    except ValueError:
        parsed = None
    return Answer(method, url, status, {k.lower(): v for k, v in got.items()}, text, parsed)


def lint(value: Any, path: str = "") -> list[str]:
    """Breaches of FHIR's JSON rules: no null, and no empty object, array or string."""
    if value is None:
        return [f"{path or '.'} is null"]
    if isinstance(value, dict):
        found = [] if value else [f"{path or '.'} is an empty object"]
        for key, item in value.items():
            found += lint(item, f"{path}.{key}")
        return found
    if isinstance(value, list):
        found = [] if value else [f"{path} is an empty array"]
        for i, item in enumerate(value):
            found += lint(item, f"{path}[{i}]")
        return found
    if isinstance(value, str) and not value.strip():
        return [f"{path} is an empty string"]
    return []


def valid(what: str, body: Any, resource_type: str | None = None) -> bool:
    """`body` is a valid FHIR R4 resource (of `resource_type` when given)."""
    if not check(isinstance(body, dict) and "resourceType" in body, f"{what}: not a FHIR resource: {body!r:.300}"):
        return False
    kind = body["resourceType"]
    if resource_type and not check(kind == resource_type, f"{what}: a {kind}, expected a {resource_type}"):
        return False
    problems = lint(body)
    check(not problems, f"{what}: breaks FHIR's JSON rules: {'; '.join(problems[:5])}")
    try:
        construct_fhir_element(kind, body)
    except Exception as error:  # pydantic's ValidationError names every field at fault
        detail = " | ".join(line.strip() for line in str(error).splitlines())
        fail(f"{what}: not a valid FHIR R4 {kind} (fhir.resources): {detail[:800]}")
        return False
    return check(True, f"{what}: valid")


def fhir_media(what: str, answer: Answer) -> None:
    check(
        answer.media_type() == FHIR_JSON,
        f"{what}: Content-Type {answer.headers.get('content-type')!r}, expected {FHIR_JSON}",
    )


def expect(what: str, answer: Answer, status: int, resource_type: str) -> dict | None:
    """A `status` answer whose body is a valid `resource_type`; None (and a failure) otherwise."""
    if not check(answer.status == status, f"{what}: HTTP {answer.status}, expected {status}: {answer.short()}"):
        if isinstance(answer.json, dict) and answer.json.get("resourceType") == "OperationOutcome":
            valid(f"{what} (its OperationOutcome)", answer.json, "OperationOutcome")
        return None
    fhir_media(what, answer)
    return answer.json if valid(what, answer.json, resource_type) else None


def outcome(what: str, answer: Answer, statuses: tuple[int, ...], codes: tuple[str, ...] = ()) -> dict | None:
    """A refusal: one of `statuses`, a valid OperationOutcome, issue[0] an error of an IssueType."""
    check(answer.status < 500, f"{what}: HTTP {answer.status}, a server error: {answer.short()}")
    check(answer.status in statuses, f"{what}: HTTP {answer.status}, expected one of {statuses}: {answer.short()}")
    fhir_media(what, answer)
    if not valid(what, answer.json, "OperationOutcome"):
        return None
    issue = answer.json["issue"][0]
    check(issue.get("severity") == "error", f"{what}: issue[0].severity {issue.get('severity')!r}, expected 'error'")
    code = issue.get("code")
    check(code in ISSUE_TYPES, f"{what}: issue[0].code {code!r} is not a FHIR IssueType")
    if codes:
        check(code in codes, f"{what}: issue[0].code {code!r}, expected one of {codes}")
    return answer.json


def links(body: dict) -> dict[str, str]:
    return {link.get("relation"): link.get("url") for link in body.get("link", [])}


def bundle(what: str, answer: Answer, resource_type: str, *, first_page: bool = True) -> list[dict] | None:
    """A searchset Bundle of `resource_type`: total, a self link, entries with fullUrl and search.mode."""
    body = expect(what, answer, 200, "Bundle")
    if body is None:
        return None
    check(body.get("type") == "searchset", f"{what}: Bundle.type {body.get('type')!r}, expected 'searchset'")
    total = body.get("total")
    check(type(total) is int and total >= 0, f"{what}: Bundle.total {total!r}, expected a count")
    related = links(body)
    check(bool(related.get("self")), f"{what}: no link 'self' (links {sorted(map(str, related))})")
    entries = body.get("entry", [])
    if first_page and type(total) is int:
        if "next" in related:
            check(total > len(entries), f"{what}: a next link, but total {total} <= {len(entries)} entries")
        else:
            check(total == len(entries), f"{what}: total {total}, but {len(entries)} entries and no next link")
    found = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource", {})
        kind, rid = resource.get("resourceType"), resource.get("id")
        if not check(kind == resource_type, f"{what}: entry {i} is a {kind}, expected a {resource_type}"):
            continue
        full = entry.get("fullUrl", "")
        if rid is None:  # a resource not stored (a proposal of $find): no URL, or a urn:uuid
            check(not full or full.startswith("urn:uuid:"), f"{what}: entry {i} has no id, but fullUrl {full!r}")
        else:
            check(
                full.startswith(("http://", "https://")) and full.endswith(f"/fhir/R4/{resource_type}/{rid}"),
                f"{what}: entry {i} fullUrl {full!r}, expected an absolute URL ending /fhir/R4/{resource_type}/{rid}",
            )
        mode = entry.get("search", {}).get("mode")
        check(mode == "match", f"{what}: entry {i} search.mode {mode!r}, expected 'match'")
        found.append(resource)
    return found


def extension(resource: dict, url: str) -> dict | None:
    found = [e for e in resource.get("extension", []) if e.get("url") == url]
    return found[0] if len(found) == 1 else None


def references(resource: dict, field: str) -> list[str]:
    """The references of a list field (`slot`) or of the actors of `participant`."""
    if field == "participant":
        return [p.get("actor", {}).get("reference") for p in resource.get("participant", [])]
    return [r.get("reference") for r in resource.get(field, [])]


def instant(value: Any) -> dt.datetime | None:
    """A FHIR instant or dateTime with a zone, as an aware datetime; None for anything else."""
    if not isinstance(value, str) or len(value) < 20:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def parameters(*parts: tuple[str, str, Any]) -> dict:
    """A Parameters resource from (name, value[x] or 'resource', value) triples, checked first."""
    body = {"resourceType": "Parameters", "parameter": [{"name": n, key: v} for n, key, v in parts]}
    # A walk that sends invalid FHIR tests nothing: its own bodies are validated too.
    construct_fhir_element("Parameters", body)
    return body


def participant(reference: str) -> dict:
    return {"actor": {"reference": reference}, "status": "accepted"}


def same_instant(a: dt.datetime | None, b: dt.datetime | None, slack_seconds: float = 1.0) -> bool:
    return a is not None and b is not None and abs((a - b).total_seconds()) <= slack_seconds


RACE_SEATS = 5
STATUS_IN_API = {"pending": "PENDING", "booked": "CONFIRMED", "cancelled": "CANCELLED"}
SERVER = FHIR = ""  # set by configure()
NAMES: dict[str, str] = {}  # fixture ids by name, for readable messages


def configure(server: str) -> None:
    global SERVER, FHIR
    SERVER = server.rstrip("/")
    FHIR = f"{SERVER}/fhir/R4"


def step(title: str) -> None:
    print(f"-- {title}", flush=True)


def named(values: Any) -> list[str]:
    return sorted(NAMES.get(v, str(v)) for v in values)


# ---- the carebook JSON API, for the fixtures and the figures to compare with


def api(method: str, path: str, token: str | None = None, body: Any = None, status: int = 200) -> Any:
    answer = http(method, SERVER + path, token=token, body=body, fhir=False)
    if not check(
        answer.status == status, f"API {method} {path}: HTTP {answer.status}, expected {status}: {answer.short()}"
    ):
        raise Abort(f"API {method} {path}")
    return answer.json["data"]


def doctor(w: NS, n: int, name: str, specialization: str, zone: str) -> NS:
    d = NS(name=name, spec=specialization, licence=f"FHIR-{w.run}-{n}", email=f"doctor{n}.{w.run}@clinic.example")
    body = {
        "name": name,
        "specialization": specialization,
        "email": d.email,
        "license_number": d.licence,
        "timezone": zone,
        "phone": f"+33 1 23 45 67 0{n}",
    }
    d.id = api("POST", "/api/doctors", w.admin, body, 201)["id"]
    NAMES[d.id] = name
    return d


def slot(w: NS, d: NS, day: dt.date, time: str, seats: int, name: str) -> NS:
    body = {"slot_date": day.isoformat(), "slot_time": time, "duration_minutes": 30, "max_capacity": seats}
    data = api("POST", f"/api/doctors/{d.id}/time-slots", w.admin, body, 201)
    NAMES[data["id"]] = name
    return NS(id=data["id"], doctor=d, day=day, starts=instant(data["starts_at"]), minutes=30, name=name)


def patient(w: NS, name: str, tag: str, years: int, account: bool) -> NS:
    p = NS(name=name, email=f"{tag}.{w.run}@example.com", dob=w.today - dt.timedelta(days=years * 365 + 17))
    body = {"name": name, "email": p.email, "phone": "+44 20 7946 0000", "date_of_birth": p.dob.isoformat()}
    p.id = api("POST", "/api/patients", w.admin, body, 201)["id"]
    NAMES[p.id] = name
    if account:
        password = f"fhir walk {tag} {w.run} lantern"
        api(
            "POST",
            "/api/users",
            w.admin,
            {"email": p.email, "password": password, "role": "patient", "patient_id": p.id},
            201,
        )
        login = api("POST", "/api/auth/login", body={"email": p.email, "password": password})
        check(login["user"].get("patient_id") == p.id, f"login of {name}: patient_id {login['user'].get('patient_id')}")
        p.token = login["access_token"]
    return p


def fixtures(admin_email: str, admin_password: str) -> NS:
    step("fixtures through the JSON API: two doctors, their slots, patients A and B")
    today = dt.datetime.now(dt.timezone.utc).date()
    w = NS(run=uuid.uuid4().hex[:8], today=today, day1=today + dt.timedelta(days=3), day2=today + dt.timedelta(days=4))
    w.admin = api("POST", "/api/auth/login", body={"email": admin_email, "password": admin_password})["access_token"]
    w.d1 = doctor(w, 1, "Dr. Ada Quill", "Cardiology", "Europe/Paris")
    w.d2 = doctor(w, 2, "Dr. Ben Moss", "Dermatology", "UTC")
    # Mid-day times: each slot falls on the same calendar day in UTC and in the doctor's zone.
    w.s1 = slot(w, w.d1, w.day1, "10:00", 1, "s1 (Quill, day 1 10:00)")
    w.s5 = slot(w, w.d1, w.day1, "11:00", RACE_SEATS, "s5 (Quill, day 1 11:00, 5 seats)")
    w.sd = slot(w, w.d1, w.day2, "10:00", 1, "sd (Quill, day 2 10:00)")
    w.t1 = slot(w, w.d2, w.day1, "10:00", 1, "t1 (Moss, day 1 10:00)")
    w.t2 = slot(w, w.d2, w.day2, "10:30", 2, "t2 (Moss, day 2 10:30)")
    w.a = patient(w, "Alice Fhirwalk", "alice", 40, True)
    w.b = patient(w, "Bruno Fhirwalk", "bruno", 30, True)
    w.code1 = None  # Cardiology's code, as PractitionerRole gives it
    return w


def seats(w: NS, label: str, s: NS, free: int) -> None:
    """The slot's seats-free extension and status, against the JSON API's figures."""
    r = read("Slot", s.id, w.admin, f"{label}: read Slot {s.name}")
    if r is not None:
        ext = extension(r, SEATS_FREE) or {}
        value = ext.get("valueInteger")
        check(type(value) is int and value == free, f"{label}: Slot {s.name} seats-free {value!r}, expected {free}")
        want = "free" if free else "busy"
        check(r.get("status") == want, f"{label}: Slot {s.name} status {r.get('status')!r}, expected {want!r}")
    days = f"from_date={s.day}&to_date={s.day}"
    rows = [x for x in api("GET", f"/api/doctors/{s.doctor.id}/time-slots?{days}", w.admin) if x["id"] == s.id]
    got = rows[0]["available_capacity"] if rows else None
    check(got == free, f"{label}: the API's available_capacity of {s.name} is {got}, expected {free}")
    listed = [x for x in api("GET", f"/api/doctors/{s.doctor.id}/available-slots?{days}") if x["id"] == s.id]
    check(bool(listed) == (free > 0), f"{label}: {s.name} {'not ' if free else ''}in the API's available-slots")


# ---- the FHIR facade


def get(path: str, token: str | None) -> Answer:
    return http("GET", f"{FHIR}/{path}", token=token)


def read(kind: str, rid: str, token: str, what: str | None = None) -> dict | None:
    return expect(what or f"read {kind}/{NAMES.get(rid, rid)}", get(f"{kind}/{rid}", token), 200, kind)


def search(kind: str, query: list[tuple[str, str]], token: str) -> list[dict] | None:
    q = urllib.parse.urlencode(query)
    return bundle(f"search {kind}?{q}", get(f"{kind}?{q}", token), kind)


def operation(name: str, body: dict, token: str | None, key: str | None = None) -> Answer:
    headers = {"Idempotency-Key": key} if key else None
    return http("POST", f"{FHIR}/Appointment/${name}", token=token, body=body, headers=headers)


def ids(resources: list[dict] | None) -> set[str]:
    return {r.get("id") for r in resources or []}


def matches(
    what: str,
    found: list[dict] | None,
    want: set[str],
    unwanted: set[str] = frozenset(),
    exact: bool = False,
    each: Callable[[dict], bool] | None = None,
) -> None:
    """A search's result: exactly `want`, or `want` and none of `unwanted`; each passing `each`."""
    if found is None:
        return
    got = ids(found)
    if exact:
        check(got == want, f"{what}: found {named(got)}, expected {named(want)}")
    else:
        check(want <= got, f"{what}: {named(want - got)} not found")
        check(not got & unwanted, f"{what}: {named(got & unwanted)} found too")
    for r in found if each else []:
        check(each(r), f"{what}: {r.get('resourceType')}/{NAMES.get(r.get('id'), r.get('id'))} does not match")


def value_ref(name: str, reference: str) -> tuple[str, str, dict]:
    return (name, "valueReference", {"reference": reference})


def has(r: dict, field: str, reference: str) -> bool:
    return reference in references(r, field)


def shape(what: str, r: dict | None, status: str, s: NS, p: NS, w: NS) -> None:
    """An Appointment of `status` for patient `p` in slot `s`, and (once stored) as the API has it."""
    if r is None:
        return
    check(r.get("status") == status, f"{what}: status {r.get('status')!r}, expected {status!r}")
    check(references(r, "slot") == [f"Slot/{s.id}"], f"{what}: slot {references(r, 'slot')}, expected {s.name}")
    actors = references(r, "participant")
    check(f"Practitioner/{s.doctor.id}" in actors, f"{what}: participants {actors} lack Practitioner/{s.doctor.name}")
    check(same_instant(instant(r.get("start")), s.starts), f"{what}: start {r.get('start')!r}, expected {s.starts}")
    end = s.starts + dt.timedelta(minutes=s.minutes)
    check(same_instant(instant(r.get("end")), end), f"{what}: end {r.get('end')!r}, expected {end}")
    hold = extension(r, HOLD_EXPIRES)
    deadline = instant((hold or {}).get("valueInstant"))
    if status == "proposed":
        return
    check(f"Patient/{p.id}" in actors, f"{what}: participants {actors} lack Patient/{p.name}")
    check(bool(r.get("id")) and bool(r.get("created")), f"{what}: id {r.get('id')!r}, created {r.get('created')!r}")
    if status == "pending":
        check(
            deadline is not None and deadline > dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5),
            f"{what}: hold-expires {hold!r}, expected a future valueInstant",
        )
    else:
        check(hold is None, f"{what}: a hold-expires extension on a {status} appointment")
    if not r.get("id"):
        return
    data = api("GET", f"/api/appointments/{r['id']}", w.admin)
    check(data["status"] == STATUS_IN_API[status], f"{what}: the API's status {data['status']}, FHIR's {status}")
    check((data["time_slot_id"], data["patient_id"]) == (s.id, p.id), f"{what}: the API's slot and patient differ")
    if status == "pending":
        expires = instant(data.get("expires_at"))
        check(same_instant(deadline, expires), f"{what}: hold-expires {deadline}, the API's expires_at {expires}")
    created = instant(r.get("created"))
    check(same_instant(created, instant(data["created_at"])), f"{what}: created {r.get('created')!r}")


def appointment(what: str, answer: Answer, status: str, s: NS, p: NS, w: NS) -> dict | None:
    r = expect(what, answer, 200, "Appointment")
    shape(what, r, status, s, p, w)
    return r
