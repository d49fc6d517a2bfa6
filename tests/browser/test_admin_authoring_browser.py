"""Staff authoring in the admin, in Chromium against the real site under Daphne: the
lesson body's editor with its live preview beside the text (rendered by the site), the
quiz's questions reordered through the page, experiment step checks edited as fields
and tried against the staff member's own sandbox. The `page` fixture fails a test on
any script error or Content-Security-Policy refusal."""

import json
import re

import pytest
from playwright.sync_api import expect

from tests.support import live_server


@pytest.fixture(scope="module")
def staff_account(daphne_server):
    return live_server.staff_account(daphne_server.env, "authoring-editor")


@pytest.fixture
def staff(page, staff_account):
    """The page, logged in to the admin as staff."""
    page.goto(page.base + "/admin/login/")
    page.fill("#id_username", staff_account["username"])
    page.fill("#id_password", staff_account["password"])
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/admin/")
    return page


def open_change_page(page, changelist: str, name: str):
    page.goto(page.base + changelist)
    page.get_by_role("link", name=name, exact=True).click()
    page.wait_for_url(re.compile(r".*/\d+/change/$"))


def test_it_previews_the_lesson_body_beside_the_text_as_it_is_typed(staff):
    open_change_page(staff, "/admin/lessons/lesson/", "Ports")
    editor = staff.locator(".field-body .EasyMDEContainer")
    preview = editor.locator(".editor-preview-side")
    expect(preview).to_be_visible()
    code = editor.locator(".CodeMirror")
    # Side by side: the preview is to the right of the text, not below or in a tab.
    code_box, preview_box = code.bounding_box(), preview.bounding_box()
    assert preview_box["x"] >= code_box["x"] + code_box["width"] - 1
    assert abs(preview_box["y"] - code_box["y"]) < 5
    assert code_box["height"] >= 400  # tall enough to work in
    code.click()
    staff.keyboard.press("Control+End")
    staff.keyboard.type("\n\n## Typed just now\n\nA **bold** claim <script>alert(1)</script>\n")
    heading = preview.locator("h2#typed-just-now")
    expect(heading).to_contain_text("Typed just now")
    expect(preview.locator("strong", has_text="bold")).to_be_visible()
    # The site's sanitiser ran: nothing of the script reached the preview.
    assert preview.locator("script").count() == 0
    assert "alert(1)" not in preview.inner_html()
    # The typed text is what the form posts (nothing is saved by previewing).
    assert "## Typed just now" in staff.locator("textarea#id_body").input_value()


def question_rows(page):
    return page.locator("#questions-group tbody.djn-inline-form:not([id$='-empty'])")


def excerpts(page) -> list[str]:
    return [
        text.strip() for text in question_rows(page).locator("td.field-excerpt").all_inner_texts()
    ]


def test_it_reorders_a_quizs_questions_with_the_keyboard_and_saves_the_order(staff):
    open_change_page(staff, "/admin/lessons/quiz/", "Quiz: The 5-tuple")
    before = excerpts(staff)
    assert len(before) >= 3
    # Each question is a short row with an Edit link to its own page, not its whole form.
    assert staff.locator("#questions-group textarea").count() == 0
    expect(
        question_rows(staff).first.get_by_role("link", name="Edit question 1")
    ).to_have_attribute("href", re.compile(r"/admin/lessons/question/\d+/change/$"))
    down = staff.get_by_role("button", name="Move question 1 down")
    down.focus()
    staff.keyboard.press("Enter")
    # Focus stays on the button, which now belongs to question 2; the rows say so.
    focused = staff.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "Move question 2 down"
    expect(staff.locator("[data-order-status]")).to_contain_text("place 2 of")
    assert excerpts(staff)[:2] == [before[1], before[0]]
    numbers = question_rows(staff).locator("[data-question-number]").all_inner_texts()
    assert numbers == [str(n) for n in range(1, len(before) + 1)]
    staff.get_by_role("button", name="Save", exact=True).click()
    expect(staff.locator(".messagelist .success")).to_be_visible()
    # Stored: the quiz's page, opened afresh, lists them in the new order.
    open_change_page(staff, "/admin/lessons/quiz/", "Quiz: The 5-tuple")
    assert excerpts(staff) == [before[1], before[0], *before[2:]]
    # And back up again, by dragging the row by its handle above the first one.
    rows = question_rows(staff)
    rows.nth(1).locator(".djn-drag-handler").drag_to(rows.nth(0).locator("td.field-number"))
    assert excerpts(staff) == before
    staff.get_by_role("button", name="Save", exact=True).click()
    expect(staff.locator(".messagelist .success")).to_be_visible()
    open_change_page(staff, "/admin/lessons/quiz/", "Quiz: The 5-tuple")
    assert excerpts(staff) == before


EXPERIMENT = "Connection refused: a port with no socket"


def step(page, n):
    return page.locator("#steps-group .djn-inline-form:not([id$='-empty'])").nth(n - 1)


def listen_step(page):
    """The experiment's step "Listen on server port 3000." (a socket check)."""
    steps = page.locator("#steps-group .djn-inline-form:not([id$='-empty'])")
    return steps.filter(has_text="Experiment step: Listen on server port 3000.")


def test_it_edits_step_checks_as_fields_that_fit_at_1280_px(staff):
    staff.set_viewport_size({"width": 1280, "height": 900})
    open_change_page(staff, "/admin/labs/experiment/", EXPERIMENT)
    listen = listen_step(staff)
    fields = listen.locator(".check-editor")
    expect(fields.get_by_label("The check")).to_have_value("socket")
    expect(fields.get_by_label("Device", exact=True)).to_have_value("server")
    expect(fields.get_by_label("Port", exact=True)).to_have_value("3000")
    # The choices are the check language's own: every state, role and device.
    assert "TIME_WAIT" in fields.locator("fieldset.check-boxes").first.inner_text()
    # A wrong value is said next to its field, in the check language's words.
    port = fields.get_by_label("Port", exact=True)
    port.fill("70000")
    port.press("Tab")
    expect(listen.locator(".check-field-error")).to_have_text(
        "Port must be a port number from 1 to 65535."
    )
    expect(port).to_have_attribute("aria-invalid", "true")
    port.fill("3001")
    port.press("Tab")
    expect(listen.locator(".check-field-error")).to_have_count(0)
    stored = listen.locator("textarea[data-check-json]")
    assert '"port":3001' in stored.input_value()
    # Another kind redraws the fields; a list of conditions grows with a button.
    first = step(staff, 1).locator(".check-editor")
    first.get_by_label("The check").first.select_option("all")
    first.get_by_role("button", name="Add a condition").click()
    first_json = step(staff, 1).locator("textarea[data-check-json]")
    assert json.loads(first_json.input_value()) == {"all": [{"socket": {}}, {"socket": {}}]}
    # What the fields cannot show stays JSON, and the page says so.
    first.locator("summary", has_text="Edit as JSON").click()
    first_json.fill('{"socket": {"colour": "red"}}')
    first_json.press("Tab")
    expect(first.locator(".messagelist")).to_contain_text("the fields cannot show")
    # Every step of every experiment of the course is shown as fields (none left as
    # JSON only), and nothing sticks out of the content area at 1280 px.
    staff.goto(staff.base + "/admin/labs/experiment/")
    links = staff.locator("#result_list tbody th a")
    addresses = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(addresses) >= 10
    for address in addresses:
        staff.goto(staff.base + address)
        expect(staff.locator(".check-editor").first).to_be_visible()
        steps = staff.locator("#steps-group .djn-inline-form:not([id$='-empty'])").count()
        assert staff.locator(".check-editor .check-part").count() >= steps
        assert staff.locator(".check-editor .messagelist").count() == 0, address
        overflow = staff.evaluate(
            "() => [...document.querySelectorAll('#content, #content-main, .check-editor')]"
            ".filter((el) => el.scrollWidth > el.clientWidth).map((el) => el.className || el.id)"
        )
        assert overflow == [], address


def test_it_tests_a_step_check_against_my_own_sandbox_and_saves_the_fields(staff):
    open_change_page(staff, "/admin/labs/experiment/", EXPERIMENT)
    listen = listen_step(staff)
    fields = listen.locator(".check-editor")
    test = fields.get_by_role("button", name="Test this check against my sandbox")
    said = fields.locator("output.check-test-result")
    test.click()
    expect(said).to_have_text(re.compile(r"^No sandbox open: open the playground in another tab"))
    # The playground in another tab of the same browser: the staff member's own sandbox.
    playground = staff.context.new_page()
    playground.goto(staff.base + "/playground/")
    playground.wait_for_selector("[data-status='open']")
    form = playground.locator("form[data-op='tcp.listen']")
    form.locator("select[name=device]").select_option("server")
    form.locator("input[name=port]").fill("3000")
    form.locator("button").click()
    expect(playground.locator("tr[data-id]", has_text="LISTEN")).to_have_count(1)
    test.click()
    expect(said).to_have_text(re.compile(r"^Matches: .*server.*3000"))
    port = fields.get_by_label("Port", exact=True)
    port.fill("3001")
    port.press("Tab")
    test.click()
    expect(said).to_have_text(re.compile(r"^Does not match: it needs .*3001"))
    # Saved from the fields: the stored check is the JSON they wrote.
    staff.get_by_role("button", name="Save and continue editing").click()
    expect(staff.locator(".messagelist .success")).to_be_visible()
    stored = listen_step(staff).locator("textarea[data-check-json]").input_value()
    assert '"port": 3001' in stored or '"port":3001' in stored
    expect(listen_step(staff).get_by_label("Port", exact=True)).to_have_value("3001")
    # Put it back for the other tests of the site.
    port = listen_step(staff).get_by_label("Port", exact=True)
    port.fill("3000")
    port.press("Tab")
    staff.get_by_role("button", name="Save and continue editing").click()
    expect(listen_step(staff).get_by_label("Port", exact=True)).to_have_value("3000")
    playground.close()


def test_it_finds_no_accessibility_violation_in_the_authoring_tools(staff):
    from axe_playwright_python.sync_playwright import Axe

    from tests.browser.test_accessibility_browser import describe

    axe = Axe()
    for changelist, name, ready in [
        ("/admin/lessons/lesson/", "Ports", ".editor-preview-side h2"),
        ("/admin/lessons/quiz/", "Quiz: The 5-tuple", "[data-order-status]"),
        ("/admin/labs/experiment/", EXPERIMENT, ".check-editor"),
    ]:
        open_change_page(staff, changelist, name)
        staff.wait_for_selector(ready, state="attached")
        assert staff.problems == []
        # The page's own content: the admin's frame (header, breadcrumbs) is Django's.
        found = axe.run(staff, context={"include": [["#content-main"]]}).response
        assert found["violations"] == [], f"{name}:\n" + describe(found["violations"])
        # axe-core itself applies inline styles, which the site's policy refuses.
        staff.problems[:] = [p for p in staff.problems if "Applying inline style" not in p]
