"""What the playground page says where the learner's eye is, in a real browser (Chromium
driven by Playwright) against the real site under Daphne: a failed action next to the
control that made it, in the experiment's current step and aloud; the server's limits
on the inputs (bytes a send, ports per op) with what was cut or refused said in words;
focus after a row's button removes its row; the lingering row's hourglass and the
diagram's key; and the first visit, whose session the page's script makes."""

import re

import pytest
from playwright.sync_api import expect

from playground.sandbox import arguments
from playground.wire.errors import SandboxError
from playground.wire.limits import FIRST_PORT
from tests.support.live_server import ROOT


def open_playground(page, query=""):
    page.goto(f"{page.base}/playground/{query}")
    page.wait_for_selector("[data-status='open']")


def form(page, op):
    return page.locator(f"form[data-op='{op}']")


def listen(page, port=3000, manual_accept=False):
    listener = form(page, "tcp.listen")
    listener.get_by_label("Port").fill(str(port))
    listener.get_by_label("Accept only on accept()").set_checked(manual_accept)
    listener.get_by_role("button", name="Listen").click()


def row(page, socket_id):
    return page.locator(f"tr[data-id='{socket_id}']")


def said_next_to(page, key):
    return page.locator(f"[data-error-for='{key}']")


def test_it_says_a_failed_action_next_to_its_button_in_the_step_and_aloud(page):
    open_playground(page, "?experiment=two-clients")
    listen(page)
    page.wait_for_selector("tr[data-id='s1'][data-state='LISTEN']")
    listen(page)  # the same port again
    box = said_next_to(page, "form:tcp.listen")
    expect(box).to_be_visible()
    expect(box).to_contain_text("That did not work: EADDRINUSE: server")
    # Right under the Listen button, which names it as its description.
    button = form(page, "tcp.listen").get_by_role("button", name="Listen")
    assert box.get_attribute("id") in button.get_attribute("aria-describedby").split()
    assert box.bounding_box()["y"] > button.bounding_box()["y"]
    link = box.get_by_role("link", name="Glossary: address already in use (EADDRINUSE)")
    assert link.get_attribute("href") == "/glossary/#eaddrinuse"
    # The experiment's current step says it too.
    expect(page.locator("[data-experiment] .step-current [data-step-failure]")).to_contain_text(
        "That did not work: EADDRINUSE"
    )
    # Said aloud: an alert region carries the same words.
    alert = page.locator("[data-error-news]")
    assert alert.get_attribute("role") == "alert"
    expect(alert).to_contain_text("That did not work: EADDRINUSE")
    # The log stays the history.
    expect(page.locator(".log-error").first).to_contain_text("EADDRINUSE")
    # Another control's success leaves it; this control's next success clears it.
    connect = form(page, "tcp.connect")
    connect.get_by_role("button", name="Connect").click()
    row(page, "s3").wait_for()
    expect(box).to_be_visible()
    listen(page, port=3001)
    row(page, "s4").wait_for()
    expect(box).to_be_hidden()
    expect(page.locator("[data-experiment] [data-step-failure]")).to_have_count(0)
    expect(page.locator(".log-error")).to_have_count(1)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_it_finds_no_accessibility_violation_with_failures_said_next_to_controls(request, size):
    from axe_playwright_python.sync_playwright import Axe

    page = request.getfixturevalue("page" if size == "desktop" else "phone")
    open_playground(page, "?experiment=two-clients")
    listen(page, manual_accept=True)
    page.wait_for_selector("tr[data-id='s1'][data-state='LISTEN']")
    listen(page)  # EADDRINUSE, said under Listen and in the step
    row(page, "s1").get_by_role("button", name="Accept s1").click()  # EAGAIN, in its row
    form(page, "send").get_by_role("button", name="Send").click()  # no socket yet
    expect(said_next_to(page, "row:s1")).to_be_visible()
    expect(said_next_to(page, "form:send")).to_be_visible()
    expect(page.locator("[data-step-failure]")).to_be_visible()
    violations = Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


def test_it_says_a_row_button_s_failure_in_its_row_and_keeps_focus_on_the_button(page):
    open_playground(page)
    listen(page, manual_accept=True)
    accept = row(page, "s1").get_by_role("button", name="Accept s1")
    accept.focus()
    page.keyboard.press("Enter")  # nothing waits in its accept queue
    expect(said_next_to(page, "row:s1")).to_contain_text(
        "That did not work: EAGAIN: no connection is waiting in s1's accept queue"
    )
    # The row was drawn again; focus stayed on its button, not the page's body.
    expect(row(page, "s1").get_by_role("button", name="Accept s1")).to_be_focused()


def test_it_carries_the_send_limit_and_says_what_was_cut_or_refused(page):
    open_playground(page)
    listen(page)
    row(page, "s1").wait_for()
    form(page, "tcp.connect").get_by_role("button", name="Connect").click()
    page.wait_for_selector("tr[data-id='s3'][data-state='ESTABLISHED']")
    send = form(page, "send")
    text = send.get_by_label("Text")
    assert text.get_attribute("maxlength") == "1024"  # the server's send_bytes
    expect(send.locator("[data-send-hint]")).to_have_text("At most 1,024 bytes a send.")
    # 10 KiB pasted: the box keeps 1,024 characters, and says how many it cut.
    text.fill("")
    text.focus()
    page.keyboard.insert_text("x" * 10_240)
    assert len(text.input_value()) == 1024
    expect(said_next_to(page, "form:send")).to_contain_text(
        "Only the first 1,024 characters fit in the box; 9,216 were cut."
    )
    # Characters are not bytes: 600 é's fit the box but are 1,200 bytes, refused here.
    text.fill("é" * 600)
    send.get_by_role("button", name="Send").click()
    expect(said_next_to(page, "form:send")).to_contain_text(
        "That text is 1,200 bytes (in UTF-8 a letter such as “é” takes 2, an emoji 4), and "
        "one send takes at most 1,024: shorten it by 176 bytes. Nothing was sent."
    )
    expect(page.locator(".log-ok", has_text="sent")).to_have_count(0)
    text.fill("hello")
    send.get_by_role("button", name="Send").click()
    expect(page.locator(".pg-log")).to_contain_text("s2 sent 5 bytes.")
    expect(said_next_to(page, "form:send")).to_be_hidden()


def test_it_takes_each_op_s_port_range_from_the_server_and_says_why_in_words(page):
    open_playground(page)
    port = form(page, "tcp.listen").get_by_label("Port")
    to_port = form(page, "tcp.connect").get_by_label("Port")
    # Listen may bind 0 (the system picks); connect may not reach it.
    assert (port.get_attribute("min"), port.get_attribute("max")) == ("0", "65535")
    assert (to_port.get_attribute("min"), to_port.get_attribute("max")) == ("1024", "65535")
    expect(form(page, "tcp.listen").locator(".form-hint").first).to_have_text(
        "0 = let the system pick a free port; any other from 1024 to 65535."
    )
    port.fill("80")
    form(page, "tcp.listen").get_by_role("button", name="Listen").click()
    expect(said_next_to(page, "form:tcp.listen")).to_contain_text(
        "Ports 1 to 1023 need a privilege the sandbox leaves out: use 0 (the system picks a "
        "free port) or a port from 1024 to 65535."
    )
    port.fill("0")
    form(page, "tcp.listen").get_by_role("button", name="Listen").click()
    row(page, "s1").wait_for()
    to_port.fill("0")
    form(page, "tcp.connect").get_by_role("button", name="Connect").click()
    expect(said_next_to(page, "form:tcp.connect")).to_contain_text(
        "Use a port from 1024 to 65535: 0 is no port to reach."
    )
    expect(row(page, "s2")).to_have_count(0)  # nothing was sent


def test_it_says_no_socket_yet_in_an_empty_list_and_refuses_with_a_word(page):
    open_playground(page)
    select = form(page, "send").get_by_label("Socket")
    expect(select.locator("option")).to_have_text(["No socket yet"])
    assert select.bounding_box()["width"] >= 150  # not a sliver
    form(page, "send").get_by_role("button", name="Send").click()
    expect(said_next_to(page, "form:send")).to_contain_text(
        "Choose a socket first: there is none of the right kind yet."
    )


def test_it_moves_focus_to_the_next_row_or_to_listen_when_a_row_goes(page):
    open_playground(page)
    listen(page)
    row(page, "s1").wait_for()
    bind = form(page, "udp.bind")
    bind.get_by_role("button", name="Bind").click()
    row(page, "s2").wait_for()
    row(page, "s1").get_by_role("button", name="Close s1").focus()
    page.keyboard.press("Enter")
    expect(row(page, "s1")).to_have_count(0)
    expect(row(page, "s2").get_by_role("button").first).to_be_focused()
    page.keyboard.press("Enter")  # its first button: Close s2
    expect(row(page, "s2")).to_have_count(0)
    expect(form(page, "tcp.listen").get_by_role("button", name="Listen")).to_be_focused()
    assert page.evaluate("document.activeElement !== document.body")


def test_it_draws_the_lingering_hourglass_without_an_emoji_and_keys_the_diagram(page):
    open_playground(page)
    listen(page)
    row(page, "s1").wait_for()
    form(page, "tcp.connect").get_by_role("button", name="Connect").click()
    page.wait_for_selector("tr[data-id='s3'][data-state='ESTABLISHED']")
    # The side that closes first keeps TIME_WAIT once the other side has closed too.
    row(page, "s2").get_by_role("button", name="Close s2").click()
    page.wait_for_selector("tr[data-id='s2'][data-closed='true']")
    row(page, "s3").get_by_role("button", name="Close s3").click()
    lingering = page.locator("tr[data-id='s2'][data-state='TIME_WAIT']")
    lingering.wait_for()
    state = lingering.locator("td.state")
    expect(state.locator("svg.hourglass")).to_have_count(1)
    before = state.evaluate("td => getComputedStyle(td, '::before').content")
    assert before in ("none", "normal"), before
    assert "⌛" not in state.inner_text()
    # The kernel's TIME_WAIT record counts down (its seconds left, from the server).
    expect(state).to_have_text(re.compile(r"^\s*TIME_WAIT \(closed\), \d+ s left$"))
    legend = page.locator("[data-diagram] .pg-legend")
    expect(legend).to_contain_text("listening socket")
    expect(legend).to_contain_text("closed by the program, still kept by the kernel")


def test_it_connects_on_a_first_visit_making_its_session_by_post(page):
    responses = []
    page.on("response", lambda response: responses.append(response))
    open_playground(page)  # the hello came: the status says Connected
    expect(page.locator("[data-status-text]")).to_have_text("Connected")
    sessions = [
        (response.request.method, response.url)
        for response in responses
        if "sessionid=" in (response.header_value("set-cookie") or "")
    ]
    assert sessions == [("POST", f"{page.base}/playground/session/")]


def test_it_never_suggests_port_0_where_a_port_is_reached():
    try:
        arguments.port(0, pick=False)
    except SandboxError as refused:
        assert refused.code == "bad_port"
        assert "0 to let" not in refused.message and "0 is no port to reach" in refused.message
    else:
        raise AssertionError("port 0 was taken as a destination")
    assert arguments.port(0) == 0 and arguments.port(FIRST_PORT, pick=False) == FIRST_PORT


def test_it_writes_no_port_number_of_the_server_s_again_in_the_page():
    forms = (ROOT / "playground" / "templates" / "playground" / "_forms.html").read_text()
    scripts = sorted((ROOT / "playground" / "static" / "playground").rglob("*.js"))
    script = "\n".join(path.read_text() for path in scripts)
    for text in (forms, script):
        assert "65535" not in text and "1024" not in text and "1023" not in text
