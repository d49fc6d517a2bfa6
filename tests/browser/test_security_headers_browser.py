"""Every kind of page runs under the site's Content-Security-Policy in a real
browser (Chromium, against the real site under Daphne) without a violation:
the course, a lesson, a quiz and its results, the playground with its
WebSocket, and the staff admin with its nested quiz editor."""

import pytest
from playwright.sync_api import expect

from tests.support.browser_pages import answer_every_question
from tests.support.live_server import staff_account

WAIT_MS = 15_000

# Chromium reports a violation as an event in the page; the binding outlives
# navigations, so a violation on any page visited reaches the test.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} on ${document.URL}`
  );
});
"""


@pytest.fixture
def page(browser, daphne_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    violations = []
    context.expose_function("reportCspViolation", lambda text: violations.append(text))
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and violations.append(message.text)
        ),
    )
    page.on("pageerror", lambda error: violations.append(f"script error: {error}"))
    page.base = daphne_server.url
    page.violations = violations
    yield page
    context.close()


def visit(page, path):
    response = page.goto(page.base + path)
    assert response.ok, f"{path} answered {response.status}"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    return response


def settle(page):
    """Let the page deliver what it has queued (violation events are tasks) before checking."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done)))")


def test_it_runs_the_course_lesson_quiz_and_results_without_a_violation(page):
    visit(page, "/")
    visit(page, "/lessons/sockets/")
    page.locator("[data-lesson-end]").scroll_into_view_if_needed()
    visit(page, "/quizzes/sockets-quiz/")
    answer_every_question(page)
    page.locator("[data-submit]").click()
    page.wait_for_url("**/attempts/*/")
    assert "%" in page.locator("h1").inner_text()  # the score
    settle(page)
    assert page.violations == []


def test_it_runs_the_playground_and_its_websocket_without_a_violation(page):
    visit(page, "/playground/")
    page.wait_for_selector("[data-status='open']")
    settle(page)
    assert page.violations == []


def test_it_runs_the_admin_and_the_nested_quiz_editor_without_a_violation(page, daphne_server):
    staff = staff_account(daphne_server.env, "csp-editor")
    visit(page, "/admin/login/")
    page.fill("#id_username", staff["username"])
    page.fill("#id_password", staff["password"])
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/admin/")
    visit(page, "/admin/lessons/quiz/")
    page.locator("#result_list tbody th a").first.click()
    page.wait_for_selector(".djn-group")
    quiz_url = page.url
    # The quiz lists its questions; each is edited on its own page, where adding a
    # choice runs nested_admin's templates and scripts.
    page.get_by_role("link", name="Edit question 1", exact=True).click()
    page.wait_for_url("**/admin/lessons/question/*/change/")
    choices = page.locator(".djn-group .djn-item:not(.djn-empty-form)")
    before = choices.count()
    page.get_by_role("link", name="Add another Choice").click()
    expect(choices).to_have_count(before + 1)
    visit(page, quiz_url.removeprefix(page.base))
    page.get_by_role("link", name="Item analysis").click()
    page.wait_for_selector(".score-distribution")
    visit(page, "/admin/lessons/lesson/")
    page.locator("#result_list tbody th a").first.click()
    page.wait_for_selector("#content-main form")
    settle(page)
    assert page.violations == []
