"""The lesson warm-up in Chromium on a phone, by keyboard alone: the answers are checked
on the server and the page comes back with the focus on the result's heading."""

from playwright.sync_api import expect

from tests.support.browser_pages import PHONE_OPTIONS, new_page, visiting


def test_it_answers_a_lessons_warm_up_by_keyboard_on_a_phone(browser, daphne_server):
    with visiting(new_page(browser, daphne_server, **PHONE_OPTIONS)) as page:
        page.goto(page.base + "/lessons/connections/")
        form = page.locator(".warm-up-form")
        legends = form.locator("legend")
        expect(legends.first).to_contain_text("Warm-up question 1")
        asked = legends.count()
        for index in range(asked):
            group = form.get_by_role("group", name=f"Warm-up question {index + 1}")
            group.get_by_role("radio").first.focus()
            page.keyboard.press("Space")
            expect(group.get_by_role("radio").first).to_be_checked()
        page.keyboard.press("Enter")  # submits the form the checked radio is in
        expect(page.locator(".warm-up h2")).to_have_text("Warm-up: your answers")
        heading = page.get_by_role("heading", name="Warm-up: your answers")
        expect(heading).to_be_focused()
        answers = page.locator(".warm-up .question")
        expect(answers).to_have_count(asked)
        expect(page.locator(".warm-up")).to_contain_text("Right")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_OPTIONS["viewport"]["width"]  # no sideways scrolling
