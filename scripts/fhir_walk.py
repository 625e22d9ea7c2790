"""A walk through carebook's FHIR R4 facade (/fhir/R4), every answer validated with fhir.resources.

Run by scripts/fhir-walk.sh against a fresh server, in the venv it installs:

    ADMIN_EMAIL=... ADMIN_PASSWORD=... python scripts/fhir_walk.py http://127.0.0.1:PORT

The carebook JSON API only lays the fixtures: two doctors of different specializations with
slots three and four days ahead (one of 5 seats), patients A and B with accounts, and 60 more
patients for the race. Everything else goes through the FHIR facade: the CapabilityStatement
and the SMART configuration; reads and every search parameter of Practitioner,
PractitionerRole, Schedule, Slot, Patient and Appointment; patient A's $find, $hold (retried
with its Idempotency-Key), $book to confirm, a search of their own appointments, $book with
status cancelled, and a direct $book, with the slot's seats-free extension compared with the
JSON API's figures after each step (the public available-slots list too: run the server with
AVAILABILITY_CACHE_MS=0); 60 parallel $holds of 60 patients on the 5-seat slot, which must give
exactly 5 pending Appointments and a 4xx OperationOutcome each for the rest; and access:
anonymous calls 401, patient B reading A's Patient and Appointment 404. Every FHIR body,
OperationOutcomes included, must be valid R4 (fhir_checks.py says how). The dates come from
today. Prints every failure and exits 1 if there was any; FHIR_WALK_BACKEND names the backend
in the summary line.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import sys
import threading
import traceback
import urllib.parse
import uuid
from types import SimpleNamespace as NS
from typing import Callable

import fhir_checks as fc
import fhir_more
from fhir_checks import (
    NAMES,
    RACE_SEATS,
    api,
    appointment,
    check,
    fail,
    fixtures,
    get,
    has,
    matches,
    named,
    need,
    operation,
    participant,
    read,
    search,
    seats,
    shape,
    step,
    value_ref,
)

LICENCE = "urn:carebook:licence-number"
SPECIALTY = "urn:carebook:specialty"
SEARCH_PARAMS = {
    "Practitioner": ["name", "identifier"],
    "PractitionerRole": ["specialty", "practitioner"],
    "Schedule": ["actor"],
    "Slot": ["schedule", "start", "status"],
    "Patient": ["name", "birthdate", "email", "identifier"],
    "Appointment": ["patient", "practitioner", "date", "status", "slot"],
    "AuditEvent": ["patient", "date"],
}
RACE_PATIENTS = 60


def capability() -> None:
    step("metadata: the CapabilityStatement, without a token")
    body = fc.expect("GET metadata", fc.http("GET", f"{fc.FHIR}/metadata"), 200, "CapabilityStatement")
    if body is None:
        return
    check(body.get("kind") == "instance", f"metadata: kind {body.get('kind')!r}, expected 'instance'")
    check(body.get("fhirVersion") == "4.0.1", f"metadata: fhirVersion {body.get('fhirVersion')!r}, expected '4.0.1'")
    check({"json", fc.FHIR_JSON} & set(body.get("format", [])), f"metadata: format {body.get('format')} lacks json")
    rest = (body.get("rest") or [{}])[0]
    check(rest.get("mode") == "server", f"metadata: rest[0].mode {rest.get('mode')!r}, expected 'server'")
    declared = {r.get("type"): r for r in rest.get("resource", [])}
    for kind, params in SEARCH_PARAMS.items():
        if not check(kind in declared, f"metadata: no rest.resource for {kind}"):
            continue
        names = {p.get("name") for p in declared[kind].get("searchParam", []) + rest.get("searchParam", [])}
        check(
            set(params) <= names,
            f"metadata: {kind} does not declare the search parameters {sorted(set(params) - names)}",
        )
        interactions = {i.get("code") for i in declared[kind].get("interaction", [])}
        check(
            {"read", "search-type"} <= interactions, f"metadata: {kind} interactions {sorted(map(str, interactions))}"
        )
    ops = rest.get("operation", []) + declared.get("Appointment", {}).get("operation", [])
    names = {str(o.get("name", "")).lstrip("$") for o in ops}
    check({"find", "hold", "book"} <= names, f"metadata: operations {sorted(names)}, expected find, hold and book")


def smart() -> None:
    step("the SMART configuration, without a token (plain JSON)")
    answer = fc.http("GET", f"{fc.FHIR}/.well-known/smart-configuration", fhir=False)
    if not check(answer.status == 200, f"smart-configuration: HTTP {answer.status}: {answer.short()}"):
        return
    check(answer.media_type() == "application/json", f"smart-configuration: Content-Type {answer.media_type()!r}")
    body = answer.json if isinstance(answer.json, dict) else {}
    check("resourceType" not in body, "smart-configuration: a FHIR resource, expected plain JSON")
    endpoint = body.get("token_endpoint")
    check(
        isinstance(endpoint, str) and endpoint.startswith(("http://", "https://")),
        f"smart-configuration: token_endpoint {endpoint!r}",
    )
    for key in ("scopes_supported", "capabilities"):
        value = body.get(key)
        check(
            isinstance(value, list) and value and all(isinstance(x, str) for x in value),
            f"smart-configuration: {key} {value!r}",
        )


def anonymous(w: NS) -> None:
    step("without a token, or with a bad one: 401 and an OperationOutcome 'security'")
    fc.outcome("anonymous Appointment search", get("Appointment", None), (401,), ("security",))
    fc.outcome("anonymous Patient read", get(f"Patient/{w.a.id}", None), (401,), ("security",))
    fc.outcome("Practitioner search with a bad token", get("Practitioner", "not-a-token"), (401,), ("security",))
    body = fc.parameters(value_ref("slot", f"Slot/{w.s1.id}"), value_ref("patient", f"Patient/{w.a.id}"))
    fc.outcome("anonymous $hold", operation("hold", body, None), (401,), ("security",))


def practitioners(w: NS) -> None:
    step("Practitioner: read, search by name, identifier, _id, and pages of _count=1")
    for d in (w.d1, w.d2):
        r = read("Practitioner", d.id, w.admin)
        if r is None:
            continue
        check(r.get("id") == d.id, f"Practitioner {d.name}: id {r.get('id')}")
        idents = [(i.get("system"), i.get("value")) for i in r.get("identifier", [])]
        check((LICENCE, d.licence) in idents, f"Practitioner {d.name}: identifier {idents}, expected the licence")
        texts = [n.get("text") for n in r.get("name", [])]
        check(d.name in texts, f"Practitioner {d.name}: name texts {texts}")
        mails = [t.get("value") for t in r.get("telecom", []) if t.get("system") == "email"]
        check(d.email in mails, f"Practitioner {d.name}: telecom e-mails {mails}, expected {d.email}")
    read("Practitioner", w.d1.id, w.a.token, "patient A reads Practitioner Dr. Ada Quill")
    texts = lambda r: " ".join(n.get("text", "") for n in r.get("name", [])).lower()  # noqa: E731
    matches(
        "name=dr. ada (any case)",
        search("Practitioner", [("name", "dr. ada")], w.admin),
        {w.d1.id},
        {w.d2.id},
        each=lambda r: "dr. ada" in texts(r),
    )
    hit = lambda d: lambda r: d.licence in [i.get("value") for i in r.get("identifier", [])]  # noqa: E731
    found = search("Practitioner", [("identifier", f"{LICENCE}|{w.d1.licence}")], w.admin)
    matches("identifier=system|value", found, {w.d1.id}, {w.d2.id}, each=hit(w.d1))
    found = search("Practitioner", [("identifier", w.d2.licence)], w.admin)
    matches("identifier=value", found, {w.d2.id}, {w.d1.id}, each=hit(w.d2))
    matches("_id", search("Practitioner", [("_id", w.d1.id)], w.admin), {w.d1.id}, exact=True)
    url, seen, total, pages = f"{fc.FHIR}/Practitioner?_count=1", [], None, 0
    while url and pages < 50:
        answer = fc.http("GET", url, token=w.admin)
        pages += 1
        found = fc.bundle(f"Practitioner?_count=1, page {pages}", answer, "Practitioner", first_page=False)
        if found is None:
            return
        check(len(found) <= 1, f"Practitioner?_count=1, page {pages}: {len(found)} entries")
        total = answer.json.get("total") if pages == 1 else total
        seen += [r.get("id") for r in found]
        nxt = fc.links(answer.json).get("next")
        url = urllib.parse.urljoin(url, nxt) if nxt else None
    check(pages >= 2, f"Practitioner?_count=1: {pages} page(s), expected a next link to a second")
    check({w.d1.id, w.d2.id} <= set(seen), f"Practitioner?_count=1: the pages hold {named(seen)}")
    check(len(seen) == len(set(seen)) and total == len(seen), f"Practitioner pages: total {total}, {len(seen)} seen")


def roles(w: NS) -> None:
    step("PractitionerRole: read, search by specialty and practitioner")
    for d in (w.d1, w.d2):
        r = read("PractitionerRole", d.id, w.admin)
        if r is None:
            continue
        got = r.get("practitioner", {}).get("reference")
        check(got == f"Practitioner/{d.id}", f"PractitionerRole {d.name}: practitioner {got!r}")
        spec = (r.get("specialty") or [{}])[0]
        coding = (spec.get("coding") or [{}])[0]
        check(coding.get("system") == SPECIALTY, f"PractitionerRole {d.name}: coding system {coding.get('system')!r}")
        check(coding.get("display") == d.spec, f"PractitionerRole {d.name}: display {coding.get('display')!r}")
        check(spec.get("text") == d.spec, f"PractitionerRole {d.name}: specialty text {spec.get('text')!r}")
        if check(isinstance(coding.get("code"), str), f"PractitionerRole {d.name}: no specialty code") and d is w.d1:
            w.code1 = coding["code"]
    if w.code1:
        coded = lambda r: w.code1 in [c.get("code") for s in r.get("specialty", []) for c in s.get("coding", [])]  # noqa: E731
        for value in (w.code1, f"{SPECIALTY}|{w.code1}"):
            found = search("PractitionerRole", [("specialty", value)], w.admin)
            matches(f"specialty={value}", found, {w.d1.id}, {w.d2.id}, each=coded)
    found = search("PractitionerRole", [("practitioner", f"Practitioner/{w.d2.id}")], w.admin)
    matches("practitioner=", found, {w.d2.id}, exact=True)


def schedules(w: NS) -> None:
    step("Schedule: read, search by actor")
    r = read("Schedule", w.d1.id, w.admin)
    if r is not None:
        check(has(r, "actor", f"Practitioner/{w.d1.id}"), f"Schedule: actor {fc.references(r, 'actor')}")
        horizon = r.get("planningHorizon", {})
        check(horizon.get("start") or horizon.get("end"), f"Schedule: planningHorizon {horizon!r}")
    found = search("Schedule", [("actor", f"Practitioner/{w.d2.id}")], w.admin)
    matches("actor=", found, {w.d2.id}, exact=True)


def slots(w: NS) -> None:
    step("Slot: read, search by schedule, start and status")
    r = read("Slot", w.s1.id, w.admin)
    if r is not None:
        got = r.get("schedule", {}).get("reference")
        check(got == f"Schedule/{w.d1.id}", f"Slot s1: schedule {got!r}")
        check(fc.same_instant(fc.instant(r.get("start")), w.s1.starts), f"Slot s1: start {r.get('start')!r}")
        end = w.s1.starts + dt.timedelta(minutes=30)
        check(fc.same_instant(fc.instant(r.get("end")), end), f"Slot s1: end {r.get('end')!r}, expected {end}")
    seats(w, "before any booking", w.s1, 1)
    quill = {w.s1.id, w.s5.id, w.sd.id}
    for value in (f"Schedule/{w.d1.id}", w.d1.id):
        matches(f"schedule={value}", search("Slot", [("schedule", value)], w.admin), quill, exact=True)
    day1, day2 = w.day1.isoformat(), w.day2.isoformat()
    found = search(
        "Slot", [("schedule", f"Schedule/{w.d1.id}"), ("start", f"ge{day1}"), ("start", f"lt{day2}")], w.admin
    )
    matches("start=ge day 1 & start=lt day 2", found, {w.s1.id, w.s5.id}, exact=True)
    found = search("Slot", [("schedule", f"Schedule/{w.d2.id}"), ("status", "free")], w.admin)
    matches("Moss's slots, status=free", found, {w.t1.id, w.t2.id}, exact=True)
    found = search("Slot", [("schedule", f"Schedule/{w.d1.id}"), ("status", "busy")], w.admin)
    matches("Quill's slots, status=busy", found, set(), exact=True)
    fc.outcome("Slot search without schedule", get("Slot?status=free", w.admin), (400,))


def patients(w: NS) -> None:
    step("Patient: read, search by name, birthdate, email, identifier, _id; who may see whom")
    a, b = w.a, w.b
    r = read("Patient", a.id, w.admin)
    if r is not None:
        full = [n.get("text") or " ".join(n.get("given", []) + [n.get("family", "")]) for n in r.get("name", [])]
        check(a.name in full, f"Patient A: names {full}")
        check(r.get("birthDate") == a.dob.isoformat(), f"Patient A: birthDate {r.get('birthDate')!r}, expected {a.dob}")
        mails = [t.get("value") for t in r.get("telecom", []) if t.get("system") == "email"]
        check(a.email in mails, f"Patient A: telecom e-mails {mails}")
    born = lambda r: r.get("birthDate") == a.dob.isoformat()  # noqa: E731
    matches("name=alice", search("Patient", [("name", "alice")], w.admin), {a.id}, {b.id})
    matches("birthdate=", search("Patient", [("birthdate", a.dob.isoformat())], w.admin), {a.id}, {b.id}, each=born)
    matches("email=", search("Patient", [("email", a.email)], w.admin), {a.id}, {b.id})
    ident = ((r or {}).get("identifier") or [{}])[0]
    if r is not None and check(ident.get("value"), f"Patient A: no identifier to search by ({r.get('identifier')!r})"):
        value = f"{ident['system']}|{ident['value']}" if ident.get("system") else ident["value"]
        matches("identifier=", search("Patient", [("identifier", value)], w.admin), {a.id}, {b.id})
    matches("_id=", search("Patient", [("_id", a.id)], w.admin), {a.id}, exact=True)
    mine = read("Patient", a.id, a.token, "patient A reads their own Patient")
    check(mine is None or mine.get("id") == a.id, "patient A's own Patient: another id")
    fc.outcome("patient A reads patient B's Patient", get(f"Patient/{b.id}", a.token), (404,), ("not-found",))
    fc.outcome("patient B reads patient A's Patient", get(f"Patient/{a.id}", b.token), (404,), ("not-found",))
    # A patient's search of the register finds only themself, whatever it asks for.
    matches("patient A searches Patient", search("Patient", [], a.token), {a.id}, {b.id}, exact=True)
    matches("patient A searches Patient for B", search("Patient", [("_id", b.id)], a.token), set(), {b.id}, exact=True)


def find(w: NS) -> dict[str, dict]:
    step("$find: proposals by practitioner, by specialty (string, Coding, code) and _count")
    day1, day2, day3 = w.day1, w.day2, w.day2 + dt.timedelta(days=1)
    body = fc.parameters(
        ("start", "valueDateTime", f"{day1}T00:00:00Z"),
        ("end", "valueDateTime", f"{day2}T00:00:00Z"),
        value_ref("practitioner", f"Practitioner/{w.d1.id}"),
        value_ref("patient", f"Patient/{w.a.id}"),
    )
    proposals = {}
    found = fc.bundle("$find (Dr. Quill, day 1)", operation("find", body, w.a.token), "Appointment")
    for r in found or []:
        refs = fc.references(r, "slot")
        if check(len(refs) == 1 and str(refs[0]).startswith("Slot/"), f"$find: a proposal names slots {refs}"):
            proposals[refs[0][5:]] = r
    check(set(proposals) == {w.s1.id, w.s5.id}, f"$find (Dr. Quill, day 1): slots {named(proposals)}, expected s1, s5")
    for s in (w.s1, w.s5):
        shape(f"$find: the proposal of {s.name}", proposals.get(s.id), "proposed", s, w.a, w)
    moss = {w.t1.id, w.t2.id}
    for key, value in (
        [("valueString", "Dermatology")]
        + ([("valueCode", w.code1)] if w.code1 else [])
        + ([("valueCodeableConcept", {"coding": [{"system": SPECIALTY, "code": w.code1}]})] if w.code1 else [])
    ):
        body = fc.parameters(
            ("start", "valueDate", day1.isoformat()), ("end", "valueDate", day3.isoformat()), ("specialty", key, value)
        )
        found = fc.bundle(f"$find (specialty {key})", operation("find", body, w.a.token), "Appointment") or []
        slots = {ref[5:] for r in found for ref in fc.references(r, "slot")}
        want = moss if value == "Dermatology" else {w.s1.id, w.s5.id, w.sd.id}
        check(slots == want, f"$find (specialty {key} {value!r}): slots {named(slots)}, expected {named(want)}")
    body = fc.parameters(
        ("start", "valueDate", day1.isoformat()),
        ("end", "valueDate", day3.isoformat()),
        value_ref("practitioner", f"Practitioner/{w.d1.id}"),
        ("_count", "valueInteger", 1),
    )
    found = fc.bundle("$find (_count 1)", operation("find", body, w.a.token), "Appointment", first_page=False)
    check(found is None or len(found) == 1, f"$find (_count 1): {len(found or [])} proposals")
    return proposals


def flow(w: NS) -> None:
    a, b, s1 = w.a, w.b, w.s1
    proposal = dict(
        find(w).get(s1.id)
        or {"resourceType": "Appointment", "status": "proposed", "slot": [{"reference": f"Slot/{s1.id}"}]}
    )
    if f"Patient/{a.id}" not in fc.references(proposal, "participant"):
        proposal["participant"] = proposal.get("participant", []) + [participant(f"Patient/{a.id}")]

    step("$hold of s1 as patient A (the proposal), retried with the same Idempotency-Key")
    body, key = fc.parameters(("appointment", "resource", proposal)), f"fhir-walk-{w.run}-hold"
    held = need(appointment("$hold", operation("hold", body, a.token, key), "pending", s1, a, w), "$hold")
    again = appointment("$hold (retried)", operation("hold", body, a.token, key), "pending", s1, a, w)
    check(again is None or again.get("id") == held["id"], "$hold (retried): another appointment")
    seats(w, "after the hold", s1, 0)
    by_ref = fc.parameters(value_ref("slot", f"Slot/{s1.id}"), value_ref("patient", f"Patient/{b.id}"))
    fc.outcome("$hold of the full s1 by patient B", operation("hold", by_ref, b.token), (409, 422))
    fc.outcome("$hold of s1 again by patient A", operation("hold", body, a.token), (409, 422))
    unknown = fc.parameters(value_ref("slot", f"Slot/{uuid.uuid4()}"), value_ref("patient", f"Patient/{a.id}"))
    fc.outcome("$hold of an unknown slot", operation("hold", unknown, a.token), (404, 422))
    other = fc.parameters(value_ref("slot", f"Slot/{w.t2.id}"), value_ref("patient", f"Patient/{a.id}"))
    fc.outcome("$hold by patient B for patient A", operation("hold", other, b.token), (403, 404, 422))
    fc.outcome(
        "$hold without a slot",
        operation("hold", fc.parameters(value_ref("patient", f"Patient/{a.id}")), a.token),
        (400, 422),
    )
    seats(w, "after the refused holds", s1, 0)

    step("$book of the hold (confirm), retried with the same Idempotency-Key")
    body, key = fc.parameters(("appointment", "resource", held)), f"fhir-walk-{w.run}-book"
    booked = appointment("$book (confirm)", operation("book", body, a.token, key), "booked", s1, a, w)
    check(booked is None or booked.get("id") == held["id"], "$book (confirm): another appointment")
    again = appointment("$book (retried)", operation("book", body, a.token, key), "booked", s1, a, w)
    check(again is None or again.get("id") == held["id"], "$book (retried): another appointment")
    seats(w, "after the confirmation", s1, 0)

    step("Appointment searches: patient A's own, patient B's view, the staff's by every parameter")
    aid, mine = held["id"], lambda r: has(r, "participant", f"Patient/{a.id}")  # noqa: E731
    NAMES[aid] = "A's appointment in s1"
    matches("patient A: patient=", search("Appointment", [("patient", f"Patient/{a.id}")], a.token), {aid}, each=mine)
    matches("patient A: no parameter", search("Appointment", [], a.token), {aid}, each=mine)
    answer = get(f"Appointment?patient=Patient/{a.id}", b.token)
    if answer.status == 200:
        found = fc.bundle("patient B: patient=Patient/A", answer, "Appointment")
        matches(
            "patient B: patient=Patient/A", found, set(), {aid}, each=lambda r: has(r, "participant", f"Patient/{b.id}")
        )
    else:
        fc.outcome("patient B: patient=Patient/A", answer, (403, 404))
    for name, value, each in [
        ("practitioner", f"Practitioner/{w.d1.id}", lambda r: has(r, "participant", f"Practitioner/{w.d1.id}")),
        ("date", w.day1.isoformat(), lambda r: str(r.get("start", "")).startswith(w.day1.isoformat())),
        ("status", "booked", lambda r: r.get("status") == "booked"),
        ("slot", f"Slot/{s1.id}", lambda r: has(r, "slot", f"Slot/{s1.id}")),
    ]:
        # The front desk names a patient, a practitioner, a slot or a day; status alone is refused.
        anchor = [] if name != "status" else [("practitioner", f"Practitioner/{w.d1.id}")]
        matches(f"staff: {name}=", search("Appointment", anchor + [(name, value)], w.admin), {aid}, each=each)
    fc.outcome("staff: status= alone", get("Appointment?status=booked", w.admin), (400,), ("invalid",))
    query = [("patient", f"Patient/{a.id}"), ("status", "booked"), ("date", w.day1.isoformat())]
    matches("staff: patient & status & date", search("Appointment", query, w.admin), {aid}, exact=True)
    read("Appointment", aid, a.token, "patient A reads their appointment")
    fc.outcome("patient B reads A's appointment", get(f"Appointment/{aid}", b.token), (404,), ("not-found",))

    step("$book with status cancelled: the seat comes back")
    current = dict(read("Appointment", aid, a.token) or booked or held, status="cancelled")
    body = fc.parameters(("appointment", "resource", current))
    appointment("$book (cancel)", operation("book", body, a.token), "cancelled", s1, a, w)
    seats(w, "after the cancellation", s1, 1)
    query = [("patient", f"Patient/{a.id}"), ("status", "cancelled")]
    matches("patient A: status=cancelled", search("Appointment", query, a.token), {aid}, each=mine)

    step("$book of sd without a hold (booked at once)")
    direct = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{w.sd.id}"}],
        "participant": [participant(f"Patient/{a.id}"), participant(f"Practitioner/{w.d1.id}")],
    }
    body = fc.parameters(("appointment", "resource", direct))
    made = appointment(
        "$book (direct)", operation("book", body, a.token, f"fhir-walk-{w.run}-direct"), "booked", w.sd, a, w
    )
    seats(w, "after the direct booking", w.sd, 0)
    found = search("Slot", [("schedule", f"Schedule/{w.d1.id}"), ("status", "busy")], w.admin)
    matches("Quill's slots, status=busy", found, {w.sd.id}, exact=True)
    if made and made.get("id"):
        fc.outcome(
            "patient B reads A's direct booking", get(f"Appointment/{made['id']}", b.token), (404,), ("not-found",)
        )


def race(w: NS) -> None:
    step(f"{RACE_PATIENTS} patients hold the {RACE_SEATS}-seat s5 at once")

    def racer(i: int) -> str:
        body = {"name": f"Racer {i} Fhirwalk", "email": f"racer{i}.{w.run}@example.com", "phone": "+44 20 7946 0001"}
        return api("POST", "/api/patients", w.admin, body, 201)["id"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        people = list(pool.map(racer, range(RACE_PATIENTS)))
    start = threading.Barrier(RACE_PATIENTS)

    def hold(i: int, pid: str) -> fc.Answer | None:
        if i % 2:  # half by slot and patient, half with a proposed Appointment
            body = fc.parameters(value_ref("slot", f"Slot/{w.s5.id}"), value_ref("patient", f"Patient/{pid}"))
        else:
            actors = [participant(f"Patient/{pid}"), participant(f"Practitioner/{w.d1.id}")]
            slot = [{"reference": f"Slot/{w.s5.id}"}]
            proposed = {"resourceType": "Appointment", "status": "proposed", "slot": slot, "participant": actors}
            body = fc.parameters(("appointment", "resource", proposed))
        start.wait(timeout=120)
        try:
            return operation("hold", body, w.admin)
        except fc.Abort:
            return None

    with concurrent.futures.ThreadPoolExecutor(RACE_PATIENTS) as pool:
        answers = list(pool.map(hold, range(RACE_PATIENTS), people))
    won = [x for x in answers if x is not None and x.status == 200]
    lost = [x for x in answers if x is not None and x.status != 200]
    check(
        len(won) == RACE_SEATS,
        f"the race: {len(won)} holds made, expected {RACE_SEATS} (answers: {sorted(x.status for x in answers if x)})",
    )
    check(len(won) + len(lost) == RACE_PATIENTS, f"the race: {RACE_PATIENTS - len(won) - len(lost)} without answer")
    held, holders = set(), []
    for x in won:
        r = fc.expect("the race: a hold", x, 200, "Appointment")
        if r is None:
            continue
        pid = next((ref[8:] for ref in fc.references(r, "participant") if str(ref).startswith("Patient/")), "")
        shape("the race: a hold", r, "pending", w.s5, NS(id=pid, name=NAMES.get(pid, pid)), w)
        held.add(r.get("id"))
        holders.append(pid)
    check(len(held) == len(holders), f"the race: {len(holders)} holds, but {len(held)} appointments")
    check(len(set(holders)) == len(holders) and set(holders) <= set(people), f"the race: the holders {holders}")
    for x in lost:
        fc.outcome("the race: a refused hold", x, (409, 422))
    seats(w, "after the race", w.s5, 0)
    query = [("slot", f"Slot/{w.s5.id}"), ("status", "pending")]
    matches("staff: the race's holds", search("Appointment", query, w.admin), held, exact=True)


def unknown(w: NS) -> None:
    step("unknown ids: 404 not-found")
    for kind in ("Appointment", "Slot", "Practitioner", "PractitionerRole", "Schedule", "Patient"):
        fc.outcome(f"read {kind}/unknown", get(f"{kind}/{uuid.uuid4()}", w.admin), (404,), ("not-found",))


def main() -> int:
    if len(sys.argv) != 2 or not os.environ.get("ADMIN_EMAIL") or not os.environ.get("ADMIN_PASSWORD"):
        print("usage: ADMIN_EMAIL=... ADMIN_PASSWORD=... fhir_walk.py BASE_URL", file=sys.stderr)
        return 2
    fc.configure(sys.argv[1])
    backend = os.environ.get("FHIR_WALK_BACKEND", fc.SERVER)
    steps: list[Callable[..., None]] = [capability, smart]
    with_world = [anonymous, practitioners, roles, schedules, slots, patients, flow, race, unknown]
    with_world += [fhir_more.includes, fhir_more.audit]
    world = None
    for run in steps + [None] + with_world:
        try:
            if run is None:
                world = fixtures(os.environ["ADMIN_EMAIL"], os.environ["ADMIN_PASSWORD"])
            else:
                run(*(() if run in steps else (world,)))
        except fc.Abort as stop:
            print(f"  stopped at: {stop}", flush=True)
        except Exception:  # an answer of an unexpected shape: a finding, and the next step runs
            fail(f"{getattr(run, '__name__', 'fixtures')}: the walk crashed: {traceback.format_exc(limit=-3)}")
        if run is None and world is None:
            break  # without the fixtures nothing else can run
    tally = fc.TALLY
    if tally.failures:
        print(f"fhir-walk {backend}: {len(tally.failures)} check(s) failed, {tally.passed} passed:", file=sys.stderr)
        for message in tally.failures:
            print(f"  - {message}", file=sys.stderr)
        return 1
    print(f"fhir-walk {backend}: {tally.passed} checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
