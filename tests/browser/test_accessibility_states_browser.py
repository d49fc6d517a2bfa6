"""The axe-core audit of tests/browser/test_accessibility_browser.py (its `page_in_view`, its
desktop, phone and phone-dark views, its screenshots) on the pages and states that
module does not reach: a password reset from the request to the "password set" page
and a used link; the account pages and the status each of their forms leaves; a quiz
result with the answers shown after two attempts, the retry page and the course page
with a quiz not yet passed; the playground's experiment list with its marks and "Next
experiment", the packets panel with a packet opened, a lingering TIME_WAIT row, the
"were cut" note and a port refused next to its control; and, for staff, the question,
quiz, item-analysis and experiment pages of the admin (their content area, as
tests/browser/test_admin_authoring_browser.py audits it; the admin's frame is Django's).

Rules: every state is reached through the real pages in Chromium, as a learner or a
member of staff would (forms filled and submitted, buttons clicked), against the real
site under Daphne; each audit finds 0 violations."""

import email
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility_browser import (
    AXE,
    SCREENSHOTS,
    VIEWS,
    audit,
    describe,
    page_in_view,
    visit,
)
from tests.browser.test_playground_browser import (
    complete,
    connect,
    listen,
    predict,
    steps_done,
)
from tests.browser.test_playground_timeline_browser import handshake_and_hi, open_packets
from tests.support.browser_pages import answer_every_question
from tests.support.live_server import DaphneServer, staff_account

PASSWORD = "a-long-learner-password"
EXPERIMENT = "Connection refused: a port with no socket"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A site of this module's own, writing its mail to files (the reset link is read
    from them), letting one address hold a sandbox for each playground case here, and
    with a member of staff."""
    workdir = tmp_path_factory.mktemp("daphne-axe-states")
    with DaphneServer(
        workdir,
        PLAYGROUND_SANDBOXES_PER_ADDRESS="80",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(workdir / "mail"),
    ) as server:
        server.outbox = workdir / "mail"
        server.staff = staff_account(server.env, "audit-editor")
        yield server


@pytest.fixture(params=list(VIEWS))
def page(request, browser, site):
    with page_in_view(browser, request.param, site.url) as page:
        yield page


@pytest.fixture(params=["desktop", "phone"])
def staff(request, browser, site):
    """A member of staff logged in to the admin, at desktop or phone width."""
    with page_in_view(browser, request.param, site.url) as page:
        visit(page, "/admin/login/")
        page.fill("#id_username", site.staff["username"])
        page.fill("#id_password", site.staff["password"])
        page.locator("input[type=submit]").click()
        page.wait_for_url("**/admin/")
        yield page


def sign_up(page, address=""):
    username = f"audit-{uuid.uuid4().hex[:10]}"
    visit(page, "/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("E-mail address (optional)").fill(address)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".account")).to_contain_text(username)
    return username


def reset_link(outbox, address) -> str:
    for path in outbox.iterdir():
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == address:
            body = message.get_payload(decode=True).decode()
            return re.search(r"(http://\S+/accounts/password/reset/\S+/)", body).group(1)
    raise AssertionError(f"no mail to {address}")


def submit_blank(page):
    """Submit the quiz with nothing answered; the page asks first, the learner says yes."""
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Submit answers").click()


# Accounts ------------------------------------------------------------------


def test_it_finds_no_violation_through_a_password_reset(page, site):
    address = f"reset-{uuid.uuid4().hex[:10]}@example.org"
    sign_up(page, address)
    page.get_by_role("button", name="Log out").click()
    visit(page, "/accounts/login/")
    page.get_by_role("link", name="Forgotten your password?").click()
    audit(page, "states-password-reset")
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    audit(page, "states-password-reset-sent")
    link = reset_link(site.outbox, address)
    page.goto(link)
    expect(page.get_by_label("New password", exact=True)).to_be_visible()
    audit(page, "states-password-reset-form")
    page.get_by_label("New password", exact=True).fill("brand-new-passphrase")
    page.get_by_label("New password confirmation").fill("brand-new-passphrase")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", name="Password set")).to_be_visible()
    audit(page, "states-password-set")
    page.goto(link)  # a link works once
    expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
    audit(page, "states-password-reset-expired")


def test_it_finds_no_violation_on_the_account_pages_and_what_their_forms_say(page):
    username = sign_up(page)
    visit(page, "/lessons/sockets/")
    page.get_by_role("button", name="Mark as read and take the quiz").click()
    page.wait_for_url(re.compile(r"/quizzes/[\w-]+/$"))
    answer_every_question(page)
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_url(re.compile(r"/attempts/\d+/$"))

    page.locator(".account").get_by_role("link", name=username).click()
    expect(page.get_by_text("Quiz attempts: 1")).to_be_visible()
    audit(page, "states-account")

    visit(page, "/accounts/email/")
    audit(page, "states-email")
    page.get_by_label("E-mail address").fill(f"{username}@example.org")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"Your e-mail address is now {username}@example.org.")).to_be_visible()
    audit(page, "states-email-changed")

    visit(page, "/accounts/")
    page.get_by_role("link", name="Delete my progress").click()
    expect(page.get_by_text("Lessons read: 1")).to_be_visible()
    audit(page, "states-progress-delete")
    page.get_by_role("button", name="Delete my progress").click()
    expect(page.get_by_role("status")).to_contain_text("Your progress is deleted")
    audit(page, "states-progress-deleted")

    page.get_by_role("link", name="Delete my account").click()
    expect(page.get_by_text("It cannot be undone")).to_be_visible()
    audit(page, "states-account-delete")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("status")).to_contain_text(f"The account {username}")
    audit(page, "states-account-deleted")


# Quizzes -------------------------------------------------------------------


def test_it_finds_no_violation_on_a_quiz_result_with_its_answers_shown(page):
    visit(page, "/quizzes/introduction-quiz/")
    submit_blank(page)
    page.wait_for_url(re.compile(r"/attempts/\d+/$"))
    result = page.url

    visit(page, "/")
    card = page.locator(".lesson-card", has_text="What is a socket, anyway?")
    expect(card).to_contain_text("Quiz: Not yet passed (best 0%)")
    expect(
        page.get_by_role("heading", name="Final quiz — recommended after the lessons")
    ).to_be_visible()
    audit(page, "states-course-not-yet-passed")

    page.goto(result)
    page.get_by_role("link", name=re.compile(r"^Retry the \d+ questions? you missed$")).click()
    expect(page.get_by_text("retrying the questions you missed")).to_be_visible()
    audit(page, "states-quiz-retry")
    submit_blank(page)
    page.wait_for_url(re.compile(r"/attempts/\d+/$"))
    page.get_by_role("button", name="Show the answers").click()
    page.wait_for_url(re.compile(r"\?answers=show$"))
    expect(page.get_by_text("correct answer").first).to_be_visible()
    audit(page, "states-result-with-answers")


# The playground ------------------------------------------------------------


def open_playground(page, query=""):
    visit(page, f"/playground/{query}")
    page.wait_for_selector("[data-status='open']")


def form(page, op):
    return page.locator(f"form[data-op='{op}']")


def row(page, socket_id):
    return page.locator(f"tr[data-id='{socket_id}']")


def option(page, experiment_id):
    return page.locator(f"[data-experiment-select] option[value='{experiment_id}']")


def test_it_finds_no_violation_on_the_experiment_list_with_its_marks(page):
    # One step of another experiment (it is then started), its listener closed again.
    open_playground(page, "?experiment=three-sockets")
    listen(page)
    steps_done(page, 1)
    row(page, "s1").get_by_role("button", name="Close s1").click()
    expect(row(page, "s1")).to_have_count(0)
    open_playground(page, "?experiment=connection-refused")
    steps_done(page, 1)
    predict(page, "ECONNREFUSED")
    connect(page)
    steps_done(page, 2)
    listen(page)
    steps_done(page, 3)
    connect(page)
    complete(page)
    expect(option(page, "connection-refused")).to_have_text(re.compile(r"\(✓ done\)$"))
    expect(option(page, "three-sockets")).to_have_text(re.compile(r"\(started\)$"))
    expect(page.get_by_role("button", name=re.compile(r"^Next experiment: .+ →$"))).to_be_visible()
    audit(page, "states-playground-experiment-marks")


def test_it_finds_no_violation_with_a_packet_opened(page):
    open_playground(page)
    panel = open_packets(page)
    handshake_and_hi(page)
    button = panel.get_by_role("button", name=re.compile(r"^Packet 4, laptop to server"))
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#pg-packet-4")).to_be_visible()
    audit(page, "states-playground-packet-opened")


def test_it_finds_no_violation_with_a_time_wait_countdown(page):
    open_playground(page)
    listen(page)
    row(page, "s1").wait_for()
    connect(page)
    page.wait_for_selector("tr[data-id='s3'][data-state='ESTABLISHED']")
    # The side that closes first keeps TIME_WAIT once the other side has closed too.
    row(page, "s2").get_by_role("button", name="Close s2").click()
    page.wait_for_selector("tr[data-id='s2'][data-closed='true']")
    row(page, "s3").get_by_role("button", name="Close s3").click()
    state = page.locator("tr[data-id='s2'][data-state='TIME_WAIT'] td.state")
    expect(state).to_have_text(re.compile(r"^\s*TIME_WAIT \(closed\), \d+ s left$"))
    audit(page, "states-playground-time-wait")


def test_it_finds_no_violation_with_a_cut_text_and_a_refused_port(page):
    open_playground(page)
    text = form(page, "send").get_by_label("Text")
    text.fill("")
    text.focus()
    page.keyboard.insert_text("x" * 10_240)
    expect(page.locator("[data-error-for='form:send']")).to_contain_text("9,216 were cut.")
    audit(page, "states-playground-text-cut")
    form(page, "tcp.listen").get_by_label("Port").fill("80")
    form(page, "tcp.listen").get_by_role("button", name="Listen").click()
    expect(page.locator("[data-error-for='form:tcp.listen']")).to_contain_text(
        "Ports 1 to 1023 need a privilege the sandbox leaves out"
    )
    audit(page, "states-playground-port-refused")


# The admin, for staff ------------------------------------------------------


def audit_content(page, name):
    """The audit of `audit`, on the admin page's own content (#content-main)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{page.width_name}.png", full_page=True)
    found = AXE.run(page, context={"include": [["#content-main"]]}).response["violations"]
    assert found == [], f"{name} at {page.width_name}:\n" + describe(found)


def open_change_page(page, changelist, name):
    visit(page, changelist)
    page.locator("#result_list").get_by_role("link", name=name, exact=True).click()
    page.wait_for_url(re.compile(r".*/\d+/change/$"))


def test_it_finds_no_violation_on_the_admins_authoring_pages(staff):
    # An attempt first, so the item analysis has answers to count.
    visit(staff, "/quizzes/the-5-tuple-quiz/")
    answer_every_question(staff)
    staff.get_by_role("button", name="Submit answers").click()
    staff.wait_for_url(re.compile(r"/attempts/\d+/$"))

    visit(staff, "/admin/lessons/question/")
    staff.locator("#result_list tbody a").first.click()
    staff.wait_for_url(re.compile(r".*/\d+/change/$"))
    expect(staff.locator("#id_prompt")).to_be_attached()
    audit_content(staff, "states-admin-question")

    open_change_page(staff, "/admin/lessons/quiz/", "Quiz: The 5-tuple")
    staff.wait_for_selector("[data-order-status]", state="attached")
    audit_content(staff, "states-admin-quiz")
    staff.get_by_role("link", name="Item analysis").click()
    expect(staff.get_by_role("link", name="Download CSV")).to_be_visible()
    expect(staff.locator("#item-analysis tbody tr").first).to_be_visible()
    audit_content(staff, "states-admin-item-analysis")

    open_change_page(staff, "/admin/labs/experiment/", EXPERIMENT)
    staff.wait_for_selector(".check-editor", state="attached")
    audit_content(staff, "states-admin-experiment")
