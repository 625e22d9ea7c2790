"""The pages for people in a real browser: Debian's chromium, driven by Playwright.

Run by scripts/browser-walk.sh against a running carebook (BASE, ADMIN_EMAIL, ADMIN_PASSWORD in
the environment). A patient signs up, books with the keyboard alone, confirms, downloads the
.ics, moves and cancels; a second patient cannot reach the first one's pages; axe-core checks
every page in every state of the flow and a single violation fails the walk. The front desk
registers a patient, books for them and confirms; the doctor sees the day and week and opens the
patient's record. With SHOTS set,
screenshots of the booking flow at 375 and 1,280 pixels wide are written there.
"""

import datetime
import json
import os
import sys
import urllib.request
import uuid

from playwright.sync_api import sync_playwright

BASE = os.environ["BASE"]
AXE = open(os.environ["AXE_JS"], encoding="utf-8").read()
SHOTS = os.environ.get("SHOTS")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PASSWORD = "plum orchard quietly 42"
checked = []


def api(method, path, body=None, token=None):
    req = urllib.request.Request(BASE + "/api" + path, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(req, data) as res:
        return json.load(res)


def admin_token():
    return api("POST", "/auth/login", {"email": os.environ["ADMIN_EMAIL"],
                                       "password": os.environ["ADMIN_PASSWORD"]})["data"]["access_token"]


def seed():
    """A doctor in Paris with three days of free times and an account of her own, through the
    API as the admin."""
    token = api("POST", "/auth/login", {"email": os.environ["ADMIN_EMAIL"],
                                        "password": os.environ["ADMIN_PASSWORD"]})["data"]["access_token"]
    doctor = api("POST", "/doctors", {
        "name": "Dr. Sarah Johnson", "specialization": "Cardiology",
        "email": f"sarah-{uuid.uuid4().hex[:8]}@clinic.example",
        "license_number": f"MD{uuid.uuid4().hex[:8]}", "timezone": "Europe/Paris",
        "clinic_name": "Riverside Clinic"}, token)["data"]["id"]
    start = datetime.date.today() + datetime.timedelta(days=2)
    api("POST", f"/doctors/{doctor}/schedules", {
        "start_time": "09:00", "end_time": "12:00", "slot_minutes": 30,
        "weekdays": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"],
        "valid_from": start.isoformat(),
        "valid_until": (start + datetime.timedelta(days=2)).isoformat()}, token)
    doctor_email = f"dr-{uuid.uuid4().hex[:8]}@clinic.example"
    api("POST", "/users", {"email": doctor_email, "password": PASSWORD, "role": "doctor",
                           "doctor_id": doctor}, token)
    return doctor, start, doctor_email


def full_day(start):
    """A second doctor whose only slot on `start` is taken: a full day, for the waitlist."""
    token = admin_token()
    doctor = api("POST", "/doctors", {
        "name": "Dr. Omar Haddad", "specialization": "Dermatology",
        "email": f"omar-{uuid.uuid4().hex[:8]}@clinic.example",
        "license_number": f"MD{uuid.uuid4().hex[:8]}", "timezone": "Europe/Paris"}, token)["data"]["id"]
    slot = api("POST", f"/doctors/{doctor}/time-slots", {
        "slot_date": start.isoformat(), "slot_time": "10:00", "max_capacity": 1}, token)["data"]["id"]
    patient = api("POST", "/patients", {
        "name": "Someone Else", "email": f"else-{uuid.uuid4().hex[:8]}@example.com",
        "phone": "+33 1 98 76 54 32"}, token)["data"]["id"]
    api("POST", "/appointments", {"patient_id": patient, "doctor_id": doctor,
                                  "time_slot_id": slot}, token)
    return doctor


def axe(page, state):
    """Runs axe-core (WCAG 2.0/2.1 A and AA) on the page as it is now; fails on any violation."""
    page.add_script_tag(content=AXE)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")
    checked.append(state)
    if result:
        sys.exit(f"axe: {len(result)} violation(s) on {state} ({page.url}):\n"
                 + json.dumps(result, indent=2))


def shot(page, name):
    if SHOTS:
        width = page.viewport_size["width"]
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)


def focused(page):
    return page.evaluate("""() => { const e = document.activeElement;
        return e ? (e.id || e.name || e.tagName) : null; }""")


def tab_to(page, selector, limit=60):
    """Presses Tab until `selector` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return
    sys.exit(f"Tab never reached {selector} on {page.url}")


def submit_refused(page, button="main button[type=submit]"):
    """Submits a form that is refused: the answer's error summary must take the focus."""
    with page.expect_navigation():
        page.click(button)
    page.wait_for_function(
        "document.activeElement && document.activeElement.getAttribute('role') === 'alert'",
        timeout=5000)


def sign_up(page, name, email):
    page.goto(BASE + "/signup")
    axe(page, "sign-up form")
    # Refused first (a password too easy to guess): the errors name their fields.
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#phone", "+33 1 23 45 67 89")
    page.fill("#password", "password123")
    submit_refused(page)
    assert "Password" in page.inner_text(".error-summary"), page.inner_text("main")
    axe(page, "sign-up refused")
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#phone", "+33 1 23 45 67 89")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(BASE + "/me")


def sign_in(page, email, password, lands):
    page.goto(BASE + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.url.startswith(BASE + lands), page.url


def staff(browser, width, doctor, start, doctor_email):
    """The front desk registers a patient, books for them and confirms; the doctor sees the day
    and opens the record."""
    ctx = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    sign_in(page, os.environ["ADMIN_EMAIL"], os.environ["ADMIN_PASSWORD"], "/desk")
    axe(page, "desk day (today)")
    page.goto(BASE + "/admin")
    axe(page, "administration")
    page.goto(BASE + "/desk/patients")
    axe(page, "desk patients")
    page.fill("#new-name", "Walk In")
    page.fill("#new-email", "not an address")
    page.fill("#new-phone", "+33 1 23 45 67 89")
    page.evaluate("document.querySelector('#new-email').type = 'text'")
    submit_refused(page, "form[method=post][action='/desk/patients'] button[type=submit]")
    axe(page, "desk registration refused")
    page.goto(BASE + "/desk/patients?q=Ann")
    assert "Ann Patient" in page.inner_text("main")
    axe(page, "desk patients found")
    page.goto(BASE + "/desk/patients")
    page.fill("#new-name", "Walk In")
    page.fill("#new-email", f"walkin-{uuid.uuid4().hex[:8]}@example.com")
    page.fill("#new-phone", "+33 1 23 45 67 89")
    with page.expect_navigation():
        page.click("form[method=post][action='/desk/patients'] button[type=submit]")
    assert "/desk/book?patient=" in page.url, page.url
    axe(page, "desk book: choose a doctor")
    patient = page.url.split("patient=")[1].split("&")[0]
    # Booking for the patient with the keyboard alone once the day is chosen.
    page.goto(f"{BASE}/desk/book?patient={patient}&doctor={doctor}&day={start.isoformat()}")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'times'",
                           timeout=5000)
    axe(page, "desk book: free times")
    tab_to(page, "form[method=post][action='/desk/book'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"/desk?day={start.isoformat()}" in page.url, page.url
    assert "Walk In: held" in page.inner_text("table.day")
    axe(page, "desk day with bookings")
    shot(page, "desk")
    with page.expect_navigation():
        page.click("button[value^='confirm:']")
    assert "Walk In: confirmed" in page.inner_text("table.day")
    # The desk moves the appointment to another time, then looks after a doctor's waitlist.
    seat = page.locator(".seat", has_text="Walk In: confirmed").first
    with page.expect_navigation():
        seat.locator("a[href$='/reschedule']").click()
    axe(page, "desk: choose another time")
    with page.expect_navigation():
        page.click("main form[method=post] button[type=submit]")
    assert "/desk?day=" in page.url, page.url
    assert "Walk In: confirmed" in page.inner_text("table.day")
    page.goto(BASE + "/desk/waitlist")
    axe(page, "desk waitlist: choose a doctor")
    waiting = api("GET", "/waitlist?limit=1", token=admin_token())["data"]
    if waiting:
        page.goto(f"{BASE}/desk/waitlist?doctor={waiting[0]['doctor_id']}")
        assert "Remove" in page.inner_text("main")
        axe(page, "desk waitlist of a doctor")
        with page.expect_navigation():
            page.click("form[action$='/remove'] button[type=submit]")
        axe(page, "desk waitlist after a removal")
    ctx.close()

    ctx = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    sign_in(page, doctor_email, PASSWORD, "/doctor")
    page.goto(f"{BASE}/doctor?day={start.isoformat()}")
    axe(page, "doctor's day")
    shot(page, "doctor")
    page.goto(f"{BASE}/doctor?day={start.isoformat()}&days=7")
    axe(page, "doctor's week")
    page.click("main a[href^='/doctor/patients/']")
    page.wait_for_load_state()
    assert page.url.startswith(BASE + "/doctor/patients/")
    axe(page, "a patient's record")
    ctx.close()


def walk(browser, width, doctor, start):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True,
                              timezone_id="America/New_York", accept_downloads=True)
    page = ctx.new_page()
    errors = []

    def console(m):
        # A refused form or a missing page is answered 4xx on purpose, and the browser says so
        # about the document itself; every other error counts (a script error, a blocked or
        # missing asset, a content policy violation).
        document = m.location.get("url", "").split("#")[0] == page.url.split("#")[0]
        if m.type == "error" and not (document and m.text.startswith("Failed to load resource")):
            errors.append(f"{m.text} ({m.location.get('url')})")
    page.on("console", console)

    page.goto(BASE + "/")
    axe(page, "home")
    shot(page, "home")
    assert "your time" in page.inner_text("main"), "the reader's own time is shown beside the doctor's"

    # A refused form: the error is announced and has the focus.
    page.goto(BASE + "/login")
    axe(page, "sign-in form")
    page.fill("#email", "nobody@example.com")
    page.fill("#password", "not the password")
    submit_refused(page)
    axe(page, "sign-in refused")

    # The pages behind the e-mailed links: asking for one, and a link that is no good.
    for kind in ("verify", "invite"):
        page.goto(f"{BASE}/{kind}?token=not-a-real-token")
        axe(page, f"{kind} link form")
    page.goto(BASE + "/forgot-password")
    axe(page, "forgot password")
    page.fill("#email", "nobody@example.com")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "on its way" in page.inner_text("main")
    axe(page, "forgot password sent")
    page.goto(BASE + "/forgot-password")
    page.goto(BASE + "/reset-password?token=no-such-token")
    axe(page, "reset password form")
    page.fill("#password", "a brand new passphrase 77")
    submit_refused(page)
    axe(page, "reset password refused")

    email = f"ann-{uuid.uuid4().hex[:8]}@example.com"
    sign_up(page, "Ann Patient", email)
    axe(page, "my appointments (none)")

    # Booking with the keyboard alone: the doctor's month, a day, a time, hold.
    page.goto(f"{BASE}/doctors/{doctor}?month={start.strftime('%Y-%m')}")
    axe(page, "doctor's month")
    tab_to(page, "table.month a.free")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # Focus moves to the times once a day is chosen (fails after the wait otherwise).
    page.wait_for_function("document.activeElement && document.activeElement.id === 'times'",
                           timeout=5000)
    axe(page, "doctor's day")
    shot(page, "day")
    tab_to(page, "input[name=slot]")
    page.keyboard.press("ArrowDown")
    tab_to(page, "form[action$='/book'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(BASE + "/me/appointments/*")
    held = page.url
    assert page.get_attribute("[data-deadline]", "aria-live") == "polite"
    assert "minutes left" in page.inner_text("[data-left]"), "the hold's time left is announced"
    axe(page, "hold")
    shot(page, "hold")

    tab_to(page, "form[action$='/confirm'] button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Confirmed" in page.inner_text(".status")
    axe(page, "confirmed")
    shot(page, "confirmed")
    with page.expect_download() as d:
        page.click("a[href$='calendar.ics']")
    ics = open(d.value.path(), encoding="utf-8").read()
    assert "BEGIN:VEVENT" in ics and "DTSTART:" in ics, ics

    page.click("a[href$='/reschedule']")
    axe(page, "choose another time")
    page.check("input[name=slot] >> nth=1")
    page.click("main form button[type=submit]")
    page.wait_for_url(held)
    page.fill("#cancel-reason", "Away that week")
    page.click("button.danger")
    page.wait_for_url(held)
    assert "Cancelled" in page.inner_text(".status")
    axe(page, "cancelled")
    page.goto(BASE + "/me")
    axe(page, "my appointments")
    page.goto(BASE + "/me/access-log")
    axe(page, "who looked at my record")

    # A completed visit offers its review.
    page.goto(f"{BASE}/doctors/{doctor}?day={start.isoformat()}")
    with page.expect_navigation():
        page.click("form[action$='/book'] button[type=submit]")
    visit = page.url.rsplit("/", 1)[1]
    api("POST", f"/appointments/{visit}/confirm", {}, admin_token())
    api("POST", f"/appointments/{visit}/complete", {}, admin_token())
    page.reload()
    axe(page, "completed, with its review form")
    page.fill("#comment", "Kind and on time")
    with page.expect_navigation():
        page.click("form[action$='/review'] button[type=submit]")
    axe(page, "reviewed")

    # A full day offers its waitlist.
    other = full_day(start)
    page.goto(f"{BASE}/doctors/{other}?day={start.isoformat()}")
    axe(page, "a full day with its waitlist")
    with page.expect_navigation():
        page.click("form[action$='/waitlist'] button[type=submit]")
    assert "You are on the waitlist" in page.inner_text("main")
    axe(page, "on the waitlist")

    # Another patient cannot reach Ann's appointment.
    other = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    intruder = other.new_page()
    sign_up(intruder, "Bob Patient", f"bob-{uuid.uuid4().hex[:8]}@example.com")
    res = intruder.goto(held)
    assert res.status == 404, f"another patient's page answered {res.status}"
    axe(intruder, "not found")
    other.close()
    ctx.close()
    if errors:
        sys.exit(f"console errors at {width}px: {errors}")


def main():
    doctor, start, doctor_email = seed()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for width in (1280, 375):
            walk(browser, width, doctor, start)
            staff(browser, width, doctor, start, doctor_email)
        browser.close()
    print(f"browser walk: {len(checked)} page states checked by axe-core, no violations")


if __name__ == "__main__":
    main()
