"""Pages of the live site in Chromium, as the browser tests open them: a fresh visitor
(a browser context of its own) whose script errors and Content-Security-Policy refusals
are collected in `page.problems`, and who must end the test with none."""

import contextlib
import re

from playwright.sync_api import expect

WAIT_MS = 15_000
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
PHONE_OPTIONS = {"viewport": PHONE, "is_mobile": True, "has_touch": True}


def new_page(browser, server, **context_options):
    """A fresh visitor's page on `server` (desktop size unless told otherwise);
    `page.base` is the server's address."""
    context = browser.new_context(**{"viewport": DESKTOP, **context_options})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and page.problems.append(message.text)
        ),
    )
    page.base = server.url
    return page


@contextlib.contextmanager
def visiting(page):
    """Yield `page`; close its context afterwards and fail on any problem it had."""
    yield page
    page.context.close()
    assert page.problems == []


def answer_every_question(page):
    """Give every question of the quiz on `page` an answer, right or not."""
    for question in page.locator("li.question").all():
        choice = question.locator("input[type=radio], input[type=checkbox]")
        typed = question.locator("input:not([type=hidden]), textarea")
        if choice.count():
            choice.first.check()
        elif typed.count():  # a lab question has none: it is done in the playground
            typed.first.fill("1")


def click_try_it(page, selector: str) -> None:
    """Click a lesson's "Try it" link once the lesson's panel script has taken it (it
    names the panel in `aria-controls`): the script is a dynamic import that may land
    after the page's load event, and a click before it follows the link to the
    playground page instead, as it does without JavaScript."""
    link = page.locator(selector).first
    expect(link).to_have_attribute("aria-controls", re.compile(r"."))
    link.click()
