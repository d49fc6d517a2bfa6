"""The playground page's experiment list in a real browser (Chromium driven by
Playwright) against the real site under Daphne: it starts an experiment only on an
explicit choice (Start, or Enter), never as the keyboard arrows through it; it marks
each experiment done or started from the learner's progress; a finished experiment
offers the next one."""

import re

from playwright.sync_api import expect

from tests.browser.test_playground_browser import complete, connect, listen, predict, steps_done


def open_playground(page, query=""):
    page.goto(f"{page.base}/playground/{query}")
    page.wait_for_selector("[data-status='open']")
    page.locator("[data-experiment-select] option[value='connection-refused']").wait_for(
        state="attached"
    )


def picker(page):
    return page.locator("[data-experiment-select]")


def option(page, experiment_id):
    return picker(page).locator(f"option[value='{experiment_id}']")


def test_it_starts_nothing_while_arrowing_through_the_list_and_starts_on_enter(page):
    open_playground(page)
    picker(page).focus()
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    expect(picker(page)).not_to_have_value("")
    passed_over = picker(page).input_value()
    # Nothing started: no steps shown, nothing logged, the address unchanged.
    expect(page.locator("[data-experiment] .steps")).to_have_count(0)
    expect(page.locator(".pg-log")).not_to_contain_text("Experiment started")
    assert "experiment=" not in page.url
    expect(page.locator("[data-experiment-go]")).to_have_text("Start")
    page.keyboard.press("Enter")
    expect(page.locator(".step-summary")).to_have_text(re.compile(r"^Step \d+ of \d+\."))
    expect(page.locator(".pg-log")).to_contain_text("Experiment started")
    page.wait_for_url(f"**/playground/?experiment={passed_over}")
    # The server heard of that one only: after a reload, it alone is started.
    page.reload()
    page.wait_for_selector("[data-status='open']")
    marked = picker(page).locator("option", has_text="(started)")
    expect(marked).to_have_count(1)
    assert marked.get_attribute("value") == passed_over


def test_it_starts_the_chosen_experiment_only_with_the_start_button(page):
    open_playground(page, "?experiment=three-sockets")
    expect(page.locator(".step-summary")).to_have_text("Step 1 of 3.")
    picker(page).select_option("two-clients")  # a change: nothing starts
    expect(page.locator("[data-experiment-go]")).to_have_text("Start")
    expect(page.locator(".step-summary")).to_have_text("Step 1 of 3.")
    assert page.url.endswith("?experiment=three-sockets")
    # Another socket event draws the page again; the learner's choice stays.
    listen(page)
    steps_done(page, 1)
    expect(picker(page)).to_have_value("two-clients")
    page.locator("[data-experiment-go]").click()
    page.wait_for_url("**/playground/?experiment=two-clients")
    expect(page.locator(".step-summary")).to_have_text(re.compile(r"^Step \d of 4\."))


def test_it_marks_done_and_started_experiments_and_offers_the_next_one(page):
    open_playground(page, "?experiment=connection-refused")
    steps_done(page, 1)
    expect(option(page, "connection-refused")).to_have_text(re.compile(r"^\d+\. .+ \(started\)$"))
    expect(option(page, "same-port-tcp-udp")).not_to_have_text(re.compile(r"\((started|✓ done)\)"))
    predict(page, "ECONNREFUSED")
    connect(page)
    steps_done(page, 2)
    listen(page)
    steps_done(page, 3)
    connect(page)
    complete(page)
    expect(option(page, "connection-refused")).to_have_text(re.compile(r"\(✓ done\)$"))
    # The next experiment in the course's order that is not done yet.
    following = option(page, "same-port-tcp-udp").inner_text().split(". ", 1)[1]
    next_button = page.get_by_role("button", name=f"Next experiment: {following} →")
    next_button.click()
    expect(picker(page)).to_have_value("same-port-tcp-udp")
    page.wait_for_url("**/playground/?experiment=same-port-tcp-udp")
    expect(page.locator(".step-summary")).to_have_text(re.compile(r"^Step \d+ of \d+\."))
    expect(option(page, "same-port-tcp-udp")).to_have_text(re.compile(r"\(started\)$"))
    # The marks come from the learner's recorded progress: a reload keeps them.
    page.reload()
    page.wait_for_selector("[data-status='open']")
    expect(option(page, "connection-refused")).to_have_text(re.compile(r"\(✓ done\)$"))
