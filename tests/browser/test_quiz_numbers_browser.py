"""Number answers typed in Chromium on the real quiz pages under Daphne: the field keeps
what was typed ("28,232", "two"; an <input type=number> would have sent them empty),
and the result page grades them right. The questions are the course's own, found in its
content files: one whose answer needs a thousands separator, one whose answer is 2."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from lessons import course_files
from tests.support.browser_pages import answer_every_question, new_page, visiting


def number_question(wanted) -> tuple[str, dict]:
    """(quiz slug, question) of the first number question whose answer is `wanted`."""
    for quiz in course_files.read_quizzes(settings.COURSE_CONTENT_DIR):
        for question in quiz["questions"]:
            if question["kind"] == "number" and wanted(question["answer"]):
                return quiz["slug"], question
    pytest.fail("the course has no such number question")


def prompt_start(question: dict) -> str:
    """The prompt's first words, before any Markdown, as the page shows them."""
    return re.split(r"[`*_\[]", question["prompt"])[0].strip()[:60]


@pytest.mark.parametrize(
    ("wanted", "typed"),
    [(lambda answer: answer >= 10_000, "{:,}"), (lambda answer: answer == 2, "two")],
    ids=["thousands-separator", "number-word"],
)
def test_it_grades_a_number_typed_as_text_in_a_real_quiz_page_right(
    browser, daphne_server, wanted, typed
):
    slug, question = number_question(wanted)
    typed = typed.format(int(question["answer"]))
    with visiting(new_page(browser, daphne_server)) as page:
        page.goto(f"{page.base}/quizzes/{slug}/")
        answer_every_question(page)
        field = page.locator("li.question", has_text=prompt_start(question)).locator("input")
        expect(field).to_have_attribute("type", "text")
        expect(field).to_have_attribute("inputmode", "numeric")
        field.fill(typed)
        expect(field).to_have_value(typed)
        page.get_by_role("button", name="Submit answers").click()
        page.wait_for_url(re.compile(r"/attempts/\d+/$"))
        result = page.locator("li.question", has_text=prompt_start(question))
        expect(result).to_contain_text("✓ Right")
        expect(result).to_contain_text(f"Your answer: {int(question['answer'])}")


def test_it_reads_131_072_typed_in_a_real_quiz_page_as_the_number_not_as_empty(
    browser, daphne_server
):
    # No question of the course has the answer 131072 (nothing teaches that number), so
    # this asks what the example proves: the page sends the typed text, and the
    # server reads the thousands separator; the answer is then graded like any other.
    slug, question = number_question(lambda answer: answer >= 10_000)
    with visiting(new_page(browser, daphne_server)) as page:
        page.goto(f"{page.base}/quizzes/{slug}/")
        answer_every_question(page)
        field = page.locator("li.question", has_text=prompt_start(question)).locator("input")
        field.fill("131,072")
        page.get_by_role("button", name="Submit answers").click()
        page.wait_for_url(re.compile(r"/attempts/\d+/$"))
        result = page.locator("li.question", has_text=prompt_start(question))
        expect(result).to_contain_text("Your answer: 131072")
        expect(result).not_to_contain_text("✓ Right")
