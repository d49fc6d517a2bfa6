"""A text answer's length limit in Chromium on a real quiz page under Daphne: the page
says it next to the box, and a longer answer posted by a client that ignores the box's
maxlength is refused with that message and shown again whole, not cut and graded."""

import re

from playwright.sync_api import expect

from lessons.quiz_forms import TEXT_ANSWER_MAX
from tests.support.browser_pages import answer_every_question, new_page, visiting

QUIZ = "sockets-quiz"  # has text questions


def test_it_says_a_text_answers_limit_and_refuses_a_longer_one_without_cutting_it(
    browser, daphne_server
):
    with visiting(new_page(browser, daphne_server)) as page:
        page.goto(f"{page.base}/quizzes/{QUIZ}/")
        answer_every_question(page)
        box = page.locator("li.question input[type=text]:not([inputmode])").first
        limit = f"At most {TEXT_ANSWER_MAX} characters."
        expect(box).to_have_attribute("maxlength", str(TEXT_ANSWER_MAX))
        expect(box).to_have_accessible_description(limit)
        name = box.get_attribute("name")
        question = page.locator("li.question", has=page.locator(f"input[name={name}]"))
        expect(question).to_contain_text(limit)
        # A client that ignores maxlength (an old browser, a script) posts more.
        box.evaluate("input => input.removeAttribute('maxlength')")
        typed = ("a very long answer " * 20).strip()
        box.fill(typed)
        page.get_by_role("button", name="Submit answers").click()
        box = page.locator(f"input[name={name}]")
        expect(box).to_have_accessible_description(
            re.compile(rf"is {len(typed)} characters long; it can be at most {TEXT_ANSWER_MAX}")
        )
        expect(box).to_have_value(typed)  # what was typed, whole
        assert not re.search(r"/attempts/\d+/$", page.url)  # nothing recorded
