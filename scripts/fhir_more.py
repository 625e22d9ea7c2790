"""The FHIR walk's later steps (see fhir_walk.py): `_include` on the searches that serve it,
and AuditEvent, carebook's access records as IHE's Basic Audit Log Patterns shape them.

Every answer goes through fhir_checks (fhir.resources R4 validation included)."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from types import SimpleNamespace as NS

import fhir_checks as fc
from fhir_checks import check, get, step


def _entries(body: dict | None, mode: str) -> list[dict]:
    return [e.get("resource", {}) for e in (body or {}).get("entry", []) if e.get("search", {}).get("mode") == mode]


def includes(w: NS) -> None:
    step("_include: Appointment:patient|practitioner|slot and Slot:schedule")
    a = w.a
    query = [("patient", f"Patient/{a.id}")] + [
        ("_include", f"Appointment:{name}") for name in ("patient", "practitioner", "slot")
    ]
    q = urllib.parse.urlencode(query)
    body = fc.expect(f"search Appointment?{q}", get(f"Appointment?{q}", a.token), 200, "Bundle")
    matched, included = _entries(body, "match"), _entries(body, "include")
    check(bool(matched), f"_include: patient A's appointments are missing ({q})")
    have = {(r.get("resourceType"), r.get("id")) for r in included}
    for r in matched:
        named = [p.get("actor", {}).get("reference", "") for p in r.get("participant", [])]
        named += [s.get("reference", "") for s in r.get("slot", [])]
        for ref in named:
            kind, _, rid = ref.partition("/")
            check((kind, rid) in have, f"_include: {ref} of Appointment/{r.get('id')} is not included")
    check(len(have) == len(included), f"_include: a resource included twice: {sorted(map(str, have))}")
    if body is not None:
        check(body.get("total") == len(matched), f"_include: total {body.get('total')} counts more than the matches")
    q = urllib.parse.urlencode([("schedule", f"Schedule/{w.d1.id}"), ("_include", "Slot:schedule")])
    body = fc.expect(f"search Slot?{q}", get(f"Slot?{q}", w.admin), 200, "Bundle")
    schedules = [r.get("id") for r in _entries(body, "include") if r.get("resourceType") == "Schedule"]
    check(schedules == [w.d1.id], f"_include=Slot:schedule: included schedules {schedules}, expected [{w.d1.id}]")
    fc.outcome(
        "an _include not served", get("Practitioner?_include=Practitioner:organization", w.admin), (400,), ("invalid",)
    )


def audit(w: NS) -> None:
    step("AuditEvent: the access records, all for an admin, their own for a patient")
    a, b = w.a, w.b
    events = fc.search("AuditEvent", [("patient", f"Patient/{a.id}")], w.admin) or []
    check(bool(events), "AuditEvent: no access record of patient A")
    about = lambda e: [x.get("what", {}).get("reference") for x in e.get("entity", [])]  # noqa: E731
    for e in events:
        check(f"Patient/{a.id}" in about(e), f"AuditEvent/{e.get('id')}: entities {about(e)}, not patient A")
        check(e.get("action") in ("C", "R", "U", "E"), f"AuditEvent/{e.get('id')}: action {e.get('action')!r}")
    routes = {str(x.get("description")) for e in events for x in e.get("entity", [])}
    check(any(r.startswith("/fhir/R4/") for r in routes), f"AuditEvent: no FHIR route among {sorted(routes)}")
    if events:
        first = events[0]["id"]
        again = fc.read("AuditEvent", first, w.admin)
        check(again is None or again.get("id") == first, "AuditEvent read: another record")
        fc.read("AuditEvent", first, a.token, "patient A reads an AuditEvent about them")
        fc.outcome("patient B reads patient A's AuditEvent", get(f"AuditEvent/{first}", b.token), (404,), ("not-found",))
    own = fc.search("AuditEvent", [], a.token) or []
    check(bool(own), "AuditEvent: patient A's own search is empty")
    check(all(f"Patient/{a.id}" in about(e) for e in own), "AuditEvent: patient A's search shows another's records")
    theirs = fc.search("AuditEvent", [("patient", f"Patient/{a.id}")], b.token)
    check(theirs == [], f"AuditEvent: patient B sees {len(theirs or [])} of patient A's records")
    today = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    recent = fc.search("AuditEvent", [("patient", f"Patient/{a.id}"), ("date", f"ge{today}")], w.admin) or []
    check(len(recent) == len(events), f"AuditEvent date=ge{today}: {len(recent)} of {len(events)} records")
    later = today + dt.timedelta(days=3650)
    future = fc.search("AuditEvent", [("patient", f"Patient/{a.id}"), ("date", f"ge{later}")], w.admin)
    check(future == [], f"AuditEvent date=ge{later}: records from the future")
