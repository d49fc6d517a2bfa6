"""The playground's "Packets" panel in a real browser (Debian's Chromium driven by
Playwright) against the real site under Daphne, with the sandbox's real packets.

Rules: the page asks the server for packet events (`capture` on) only while the panel
is open, and again after each (re)connect; the server keeps the sandbox's packets from
its start, so a panel opened late shows what came before, and Reset starts the panel
again; the diagram draws each real packet as an arrow
between the two devices' lifelines, in the order the server reports them, with the
sockets' kernel states beside them; every packet is a button that shows all its
fields; the tcpdump view prints what `tcpdump -n` prints (without TCP options); a
reload draws the packets the sandbox kept; the panel fits a 390 px phone with no text
under 12 px; where the server cannot capture, the panel says why.
"""

import functools
import json
import re
from unittest.mock import ANY

import pytest
from playwright.sync_api import expect

from tests.support import browser_pages
from tests.support.browser_pages import PHONE_OPTIONS, click_try_it, visiting
from tests.support.live_server import ROOT, DaphneServer

SCREENSHOTS = ROOT / "build" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
TIME = r"\d\d:\d\d:\d\d\.\d{6}"
# A guided experiment about the handshake's packets (lessons/content/experiments/).
HANDSHAKE = "handshake-packets"


def new_page(browser, server, **context_options):
    """A fresh visitor (a session, so a sandbox, of its own), recording every frame its
    page sends on the playground's WebSocket and what the server says first."""
    page = browser_pages.new_page(browser, server, **{"viewport": DESKTOP, **context_options})
    page.sent = []
    page.hellos = []

    def watch(ws):
        ws.on("framesent", lambda payload: page.sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: remember_hello(page, payload))

    page.on("websocket", watch)
    return page


def remember_hello(page, payload):
    event = json.loads(payload)
    if event.get("type") == "hello":
        page.hellos.append(event)


@pytest.fixture
def page(browser, daphne_server):
    with visiting(new_page(browser, daphne_server)) as page:
        yield page


@pytest.fixture
def phone(browser, daphne_server):
    with visiting(new_page(browser, daphne_server, **PHONE_OPTIONS)) as page:
        yield page


def capture_asks(page) -> list[bool]:
    return [frame["on"] for frame in page.sent if frame.get("op") == "capture"]


def open_playground(page):
    page.goto(f"{page.base}/playground/")
    page.wait_for_selector("[data-status='open']")
    # The panel's module has read the hello (it names the devices): whatever it asks
    # of the server after a hello, it has asked.
    laptop = devices(page)["laptop"]
    expect(page.locator("[data-lifeline='0']")).to_contain_text(laptop)


def open_packets(page):
    """Open the panel and wait until the server says it captures for this page."""
    panel = page.locator("[data-packets]")
    panel.locator("summary").first.click()
    expect(panel.locator("[data-capture-note]")).to_have_attribute("data-capture-state", "on")
    return panel


def listen(page, port=3000):
    form = page.locator("form[data-op='tcp.listen']")
    form.locator("select[name=device]").select_option("server")
    form.locator("input[name=port]").fill(str(port))
    form.locator("button").click()
    page.locator("tr[data-id='s1'][data-state='LISTEN']").wait_for()


def connect(page, port=3000):
    form = page.locator("form[data-op='tcp.connect']")
    form.locator("input[name=to_port]").fill(str(port))
    form.locator("button").click()
    page.locator("tr[data-id='s2'][data-state='ESTABLISHED']").wait_for()
    page.locator("tr[data-id='s3'][data-state='ESTABLISHED']").wait_for()


def send_text(page, socket_id, text):
    form = page.locator("form[data-op='send']")
    form.locator("select[name=socket]").select_option(socket_id)
    form.locator("input[name=data]").fill(text)
    form.locator("button").click()


def states_written(page) -> list[str]:
    """The sockets' states written beside the lifelines, oldest first."""
    return page.eval_on_selector_all(
        "li.tl-states .tl-state",
        "items => items.map(e => e.lastChild.textContent)",  # after its hidden "laptop: "
    )


def drawn(page) -> list[dict]:
    """The diagram's packets, oldest first: number, direction, flags, length."""
    return page.eval_on_selector_all(
        "li.tl-packet",
        """items => items.map(li => ({
            n: Number(li.dataset.n), from: li.dataset.from, to: li.dataset.to,
            flags: li.dataset.flags, length: Number(li.dataset.length),
            arrow: li.querySelector('button').className}))""",
    )


def devices(page) -> dict[str, str]:
    return {d["name"]: d["ip"] for d in page.hellos[-1]["devices"]}


def socket_port(page, socket_id) -> int:
    return int(page.locator(f"tr[data-id='{socket_id}'] td").nth(2).inner_text())


def handshake_and_hi(page):
    """Listen, connect and send "hi" through the page's forms; the data packet drawn."""
    listen(page)
    connect(page)
    send_text(page, "s2", "hi")
    page.locator("li.tl-packet[data-length='2']").wait_for()


def test_it_draws_the_handshake_and_the_data_of_a_real_connection(page):
    open_playground(page)
    panel = open_packets(page)
    handshake_and_hi(page)
    packets = drawn(page)
    assert [(p["from"], p["to"], p["flags"], p["length"]) for p in packets[:4]] == [
        ("laptop", "server", "SYN", 0),
        ("server", "laptop", "SYN ACK", 0),
        ("laptop", "server", "ACK", 0),
        ("laptop", "server", "PSH ACK", 2),
    ]
    assert [p["n"] for p in packets[:4]] == [1, 2, 3, 4]
    # The laptop's lifeline is on the left: its packets point right, the server's left.
    assert ["tl-to-right" in p["arrow"] for p in packets[:4]] == [True, False, True, True]
    arrows = panel.locator("li.tl-packet")
    expect(arrows.nth(0)).to_contain_text("The laptop asks to open a connection (SYN).")
    expect(arrows.nth(1)).to_contain_text("The server agrees to open the connection")
    expect(arrows.nth(2)).to_contain_text("The laptop confirms: the connection is open")
    expect(arrows.nth(3)).to_contain_text("The laptop sends 2 bytes of data: “hi”.")
    expect(arrows.nth(0).locator(".tl-figures")).to_contain_text("seq 0 · len 0")
    expect(arrows.nth(3).locator(".tl-figures")).to_contain_text("seq 1 · ack 1 · len 2")
    # The sockets' kernel states, beside their own device's lifeline.
    expect(panel.locator(".tl-left .tl-state", has_text="s2 ESTABLISHED")).to_have_count(1)
    expect(panel.locator(".tl-right .tl-state", has_text="s3 ESTABLISHED")).to_have_count(1)

    # A packet is a button: choosing it shows all its fields.
    data = arrows.nth(3)
    button = data.get_by_role("button", name=re.compile(r"^Packet 4, laptop to server: PSH, ACK"))
    expect(button).to_have_attribute("aria-expanded", "false")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    detail = page.locator("#pg-packet-4")
    expect(detail).to_be_visible()
    ips = devices(page)
    port = socket_port(page, "s2")
    fields = dict(
        zip(
            detail.locator("dt").all_text_contents(),
            [text.strip() for text in detail.locator("dd").all_inner_texts()],
            strict=True,
        )
    )
    assert fields["From"] == f"laptop, {ips['laptop']} port {port}"
    assert fields["To"] == f"server, {ips['server']} port 3000"
    assert fields["Flags"].startswith("PSH (push")
    assert fields["Sequence number"].startswith("1 relative (")
    assert fields["Acknowledgement number"].startswith("1 relative (")
    assert fields["Payload length"] == "2 bytes"
    assert fields["Payload (first bytes, as text)"] == "hi"
    assert fields["Sockets"] == "s2, s3"
    assert re.fullmatch(r"\d+", fields["Window"])

    # The tcpdump view prints the same packets as tcpdump -n does.
    lines = page.locator("[data-tcpdump]").inner_text().splitlines()
    laptop = re.escape(f"{ips['laptop']}.{port}")
    server = re.escape(f"{ips['server']}.3000")
    expected = [
        rf"{TIME} IP {laptop} > {server}: Flags \[S\], seq (\d+), win \d+, length 0",
        rf"{TIME} IP {server} > {laptop}: Flags \[S\.\], seq \d+, ack (\d+), win \d+, length 0",
        rf"{TIME} IP {laptop} > {server}: Flags \[\.\], ack 1, win \d+, length 0",
        rf"{TIME} IP {laptop} > {server}: Flags \[P\.\], seq 1:3, ack 1, win \d+, length 2",
    ]
    matches = [re.fullmatch(pattern, line) for pattern, line in zip(expected, lines, strict=False)]
    assert all(matches), list(zip(expected, lines, strict=False))
    # The SYN-ACK acknowledges the SYN's sequence number plus one.
    assert int(matches[1].group(1)) == (int(matches[0].group(1)) + 1) % 2**32

    # The table alternative holds the same packets.
    panel.locator("details.tl-table summary").click()
    rows = panel.locator("[data-packet-rows] tr")
    expect(rows.nth(3)).to_contain_text("PSH, ACK")
    assert rows.nth(3).locator("td").nth(8).inner_text() == "2"

    # A reload draws the packets the sandbox kept, and asks for capture again.
    before = [(p["n"], p["from"], p["flags"], p["length"]) for p in packets]
    page.reload()
    page.wait_for_selector("[data-status='open']")
    assert len(page.hellos) == 2
    expect(panel.locator("[data-capture-note]")).to_have_attribute("data-capture-state", "on")
    page.locator("li.tl-packet[data-length='2']").wait_for()
    after = [(p["n"], p["from"], p["flags"], p["length"]) for p in drawn(page)]
    assert after[: len(before)] == before
    assert page.locator("[data-tcpdump]").inner_text().splitlines()[:4] == lines[:4]
    assert capture_asks(page) == [True, True]


def test_it_asks_for_packets_only_while_the_panel_is_open(page):
    open_playground(page)
    listen(page)
    connect(page)
    # Every answer to the page's commands came: none of them was a capture request.
    assert capture_asks(page) == []
    panel = page.locator("[data-packets]")
    expect(panel.locator("[data-timeline]")).not_to_be_visible()
    open_packets(page)
    assert capture_asks(page) == [True]
    panel.locator("summary").first.click()
    expect(panel.locator("[data-capture-note]")).to_have_attribute("data-capture-state", "off")
    assert capture_asks(page) == [True, False]
    # The page remembers the panel closed: a reload asks for nothing.
    page.reload()
    page.wait_for_selector("[data-status='open']")
    expect(page.locator("[data-lifeline='0']")).to_contain_text(devices(page)["laptop"])
    assert len(page.hellos) == 2
    assert capture_asks(page) == [True, False]


def test_it_resets_a_connection_and_draws_the_rst(page):
    open_playground(page)
    panel = open_packets(page)
    listen(page)
    connect(page)
    page.get_by_role("button", name="Reset (RST) s2").click()
    rst = panel.locator("li.tl-packet.tl-flag-rst")
    expect(rst).to_have_count(1)
    assert rst.get_attribute("data-from") == "laptop"
    expect(rst).to_contain_text("The laptop aborts the connection (RST)")
    expect(page.locator(".log-ok").first).to_contain_text("s2 was closed with SO_LINGER 0")
    assert "SO_LINGER" in page.locator("[data-code]").inner_text()
    # No FIN was sent, and the reset socket lingers in no TIME_WAIT.
    assert not [p for p in drawn(page) if "FIN" in p["flags"].split()]
    page.locator("tr[data-id='s2']").wait_for(state="detached")
    assert "R." in page.locator("[data-tcpdump]").inner_text()


def test_it_draws_the_close_and_who_ends_in_time_wait(page):
    open_playground(page)
    panel = open_packets(page)
    listen(page)
    connect(page)
    page.locator("tr[data-id='s2']").get_by_role("button", name="Close s2").click()
    laptop_fin = panel.locator("li.tl-packet.tl-flag-fin[data-from='laptop']")
    expect(laptop_fin).to_contain_text("The laptop has nothing more to send (FIN).")
    page.locator("tr[data-id='s3'][data-state='CLOSE_WAIT']").wait_for()
    page.locator("tr[data-id='s3']").get_by_role("button", name="Close s3").click()
    server_fin = panel.locator("li.tl-packet.tl-flag-fin[data-from='server']")
    # Its ACK of the laptop's FIN came alone, or (delayed) with the server's own FIN.
    expect(
        panel.locator("li.tl-packet[data-from='server']", has_text="acknowledges the laptop's FIN")
    ).to_have_count(1)
    expect(server_fin).to_contain_text("has nothing more to send (FIN).")
    last = panel.locator("li.tl-packet[data-from='laptop'][data-flags='ACK']").last
    expect(last).to_contain_text("The laptop acknowledges the server's FIN.")
    # The side that closed first waits in TIME_WAIT, written beside its lifeline.
    expect(panel.locator(".tl-left .tl-state", has_text="s2 TIME_WAIT")).to_have_count(1)
    expect(panel.locator(".tl-right .tl-state", has_text="s3 CLOSE_WAIT")).to_have_count(1)
    flags = [p["flags"] for p in drawn(page)]
    assert flags[:3] == ["SYN", "SYN ACK", "ACK"]
    assert flags[3:] in (
        ["FIN ACK", "ACK", "FIN ACK", "ACK"],
        ["FIN ACK", "FIN ACK", "ACK"],
    )


def test_it_draws_a_datagram_with_no_connection(page):
    open_playground(page)
    panel = open_packets(page)
    bind = page.locator("form[data-op='udp.bind']")
    bind.locator("select[name=device]").select_option("server")
    bind.locator("input[name=port]").fill("5353")
    bind.locator("button").click()
    page.locator("tr[data-id='s1']").wait_for()
    bind.locator("select[name=device]").select_option("laptop")
    bind.locator("input[name=port]").fill("0")
    bind.locator("button").click()
    page.locator("tr[data-id='s2']").wait_for()
    sendto = page.locator("form[data-op='udp.sendto']")
    sendto.locator("select[name=socket]").select_option("s2")
    sendto.locator("input[name=data]").fill("ping")
    sendto.locator("button").click()
    datagram = panel.locator("li.tl-packet.tl-udp")
    expect(datagram).to_contain_text("The laptop sends a datagram of 4 bytes to the server")
    assert drawn(page) == [
        {"n": 1, "from": "laptop", "to": "server", "flags": "", "length": 4, "arrow": ANY}
    ]
    ips = devices(page)
    line = page.locator("[data-tcpdump]").inner_text()
    port = socket_port(page, "s2")
    assert re.fullmatch(
        rf"{TIME} IP {re.escape(ips['laptop'])}\.{port} > {re.escape(ips['server'])}\.5353: "
        r"UDP, length 4",
        line,
    ), line


def test_it_shows_the_packets_in_a_lessons_try_it_panel(page):
    # The panel's modules (the packets panel's too) come with the lesson page, imported
    # statically: the experiment opens the Packets part, which asks for capture once.
    page.goto(f"{page.base}/lessons/connections/")
    click_try_it(page, f"a[href='/playground/?experiment={HANDSHAKE}']")
    panel = page.locator("[data-lab-panel]")
    # An experiment about packets opens the panel's Packets part by itself.
    expect(panel.locator("[data-experiment] .steps")).to_be_visible()
    expect(panel.locator("[data-packets-open]")).to_have_attribute("open", "")
    expect(panel.locator("[data-capture-note]")).to_have_attribute("data-capture-state", "on")
    panel.locator("form[data-op='tcp.listen'] button").click()
    panel.locator("tr[data-id='s1']").wait_for()
    panel.locator("form[data-op='tcp.connect'] button").click()
    panel.locator("li.tl-packet[data-n='3']").wait_for()
    flags = [p["flags"] for p in drawn(page)]
    assert flags[:3] == ["SYN", "SYN ACK", "ACK"]
    assert capture_asks(page) == [True]


def test_it_fits_a_phone_and_works_with_the_keyboard(phone, browser, daphne_server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    open_playground(phone)
    panel = open_packets(phone)
    handshake_and_hi(phone)
    first = panel.locator("li.tl-packet button").first
    first.focus()
    phone.keyboard.press("Enter")
    expect(first).to_have_attribute("aria-expanded", "true")
    expect(phone.locator("#pg-packet-1")).to_be_visible()
    panel.locator("details.tl-table summary").click()
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    small = panel.evaluate(
        """root => [...root.querySelectorAll('*')]
            .filter(e => e.checkVisibility()
                && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())
                && parseFloat(getComputedStyle(e).fontSize) < 12)
            .map(e => `${e.tagName}.${e.className}: ${getComputedStyle(e).fontSize}`)"""
    )
    assert small == []
    # What scrolls inside the panel can be reached with the keyboard.
    scrolling = "[data-timeline-scroll], [data-tcpdump], .tl-table .table-wrap"
    for region in panel.locator(scrolling).all():
        assert region.get_attribute("tabindex") == "0"
        assert region.get_attribute("role") == "region"
    panel.screenshot(path=SCREENSHOTS / "packets-phone.png")
    # The same panel at a desktop's width, for the record.
    desktop = new_page(browser, daphne_server)
    open_playground(desktop)
    open_packets(desktop)
    handshake_and_hi(desktop)
    overflow = desktop.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"desktop: the page scrolls sideways by {overflow}px"
    desktop.locator("[data-packets]").screenshot(path=SCREENSHOTS / "packets-desktop.png")
    desktop.context.close()
    assert desktop.problems == []


@pytest.fixture(scope="module")
def server_without_namespace(tmp_path_factory):
    """The site with no network namespace of its own: it cannot capture."""
    workdir = tmp_path_factory.mktemp("daphne-no-namespace")
    with DaphneServer(workdir, PLAYGROUND_NETWORK_NAMESPACE="0") as server:
        yield server


def test_it_says_why_when_the_server_cannot_capture(browser, server_without_namespace):
    page = new_page(browser, server_without_namespace)
    open_playground(page)
    page.locator("[data-packets] summary").first.click()
    note = page.locator("[data-capture-note]")
    expect(note).to_have_attribute("data-capture-state", "unavailable")
    capture = page.hellos[-1]["capture"]
    assert capture["available"] is False
    expect(note).to_contain_text("No packets can be shown here.")
    expect(note).to_contain_text(capture["note"])
    listen(page)
    assert capture_asks(page) == []
    page.context.close()
    assert page.problems == []


def lock_in_prediction(steps, choice):
    """Answer the current step's prediction with `choice`, as the learner does."""
    form = steps.locator("form[data-predict]")
    step = form.get_attribute("data-predict")
    form.get_by_role("radio", name=choice, exact=True).check()
    form.get_by_role("button", name="Lock in my prediction").click()
    expect(steps.locator(f"form[data-predict='{step}']")).to_have_count(0)


def test_it_lets_the_learner_pick_the_packet_a_step_asks_for(page):
    page.goto(f"{page.base}/playground/?experiment={HANDSHAKE}")
    page.wait_for_selector("[data-status='open']")
    steps = page.locator("[data-experiment]")
    predict = functools.partial(lock_in_prediction, steps)

    listen(page)
    predict("SYN alone")
    connect(page)
    expect(steps.locator("[data-reveal='2']")).to_contain_text(
        "You predicted “SYN alone”; the kernel said “SYN alone”. You were right."
    )
    picks = page.get_by_role("button", name=re.compile(r"^Pick packet \d+, "))
    expect(picks).to_have_count(0)  # asked first: no picking before the prediction
    predict("The server's kernel, with no call from the program")
    expect(picks).to_have_count(3)
    # The SYN, from the laptop: the server says why it is not the one.
    page.get_by_role("button", name="Pick packet 1, laptop to server, SYN, for this step").click()
    expect(steps.locator(".step-pick-note")).to_have_text(
        "Not that one. That packet is from the laptop; look for one from the server."
    )
    # By the keyboard: the SYN-ACK's button.
    page.get_by_role(
        "button", name="Pick packet 2, server to laptop, SYN ACK, for this step"
    ).focus()
    page.keyboard.press("Enter")
    expect(steps.locator("[data-reveal='3']")).to_contain_text(
        "the server's kernel agrees and acknowledges the laptop's SYN"
    )
    page.get_by_role("button", name="Pick packet 3, laptop to server, ACK, for this step").click()
    expect(page.locator(".step-summary")).to_have_text("Experiment complete. Well done!")
    expect(picks).to_have_count(0)


def test_it_shows_a_connection_made_before_the_panel_was_opened(page):
    open_playground(page)
    listen(page)
    connect(page)
    send_text(page, "s2", "hi")
    page.locator("tr[data-id='s3'][data-bytes-in='2']").wait_for()
    assert capture_asks(page) == []  # nothing asked for while the panel was closed
    panel = open_packets(page)
    page.locator("li.tl-packet[data-length='2']").wait_for()
    assert [(p["from"], p["flags"]) for p in drawn(page)[:4]] == [
        ("laptop", "SYN"),
        ("server", "SYN ACK"),
        ("laptop", "ACK"),
        ("laptop", "PSH ACK"),
    ]
    expect(panel.locator("[data-timeline-empty]")).to_be_hidden()
    expect(panel.locator("li.tl-packet").first).to_contain_text("The laptop asks to open")
    # After the packets, the sockets as they are now; none of their earlier states.
    assert sorted(states_written(page)) == ["s1 LISTEN", "s2 ESTABLISHED", "s3 ESTABLISHED"]
    expect(panel.locator("summary").first).to_contain_text("packets")


def test_it_starts_again_after_a_reset_and_after_a_reload(page):
    open_playground(page)
    panel = open_packets(page)
    listen(page)
    connect(page)
    page.locator("tr[data-id='s2']").get_by_role("button", name="Close s2").click()
    page.locator("tr[data-id='s3'][data-state='CLOSE_WAIT']").wait_for()
    page.locator("li.tl-packet.tl-flag-fin").first.wait_for()
    assert "s1 LISTEN" in states_written(page)
    page.locator("[data-reset]").click()
    expect(page.locator("[data-rows] tr")).to_have_count(0)
    expect(panel.locator("[data-timeline-empty]")).to_be_visible()
    expect(panel.locator("[data-timeline] li")).to_have_count(0)
    assert page.locator("[data-tcpdump]").inner_text() == ""
    # What comes after the reset, and nothing of before (no "s1 gone" ...).
    page.locator("form[data-op='tcp.listen'] button").click()
    listener = page.locator("[data-rows] tr[data-state='LISTEN']")
    listener.wait_for()
    new_id = listener.get_attribute("data-id")
    page.locator("form[data-op='tcp.connect'] button").click()
    page.locator("li.tl-packet[data-flags='ACK']").first.wait_for()
    flags = [p["flags"] for p in drawn(page)]
    assert flags[:3] == ["SYN", "SYN ACK", "ACK"]
    old = {"s1", "s2", "s3"}
    assert not [s for s in states_written(page) if s.split()[0] in old]
    assert any(s.startswith(f"{new_id} ") for s in states_written(page))
    first_after = drawn(page)[0]["n"]
    # A reload shows the same: the packets since the reset.
    page.reload()
    page.wait_for_selector("[data-status='open']")
    expect(panel.locator("[data-capture-note]")).to_have_attribute("data-capture-state", "on")
    assert drawn(page)[0]["n"] == first_after
    assert not [s for s in states_written(page) if s.split()[0] in old]


def test_it_takes_the_packet_the_learner_opens_as_the_steps_pick(page):
    page.goto(f"{page.base}/playground/?experiment={HANDSHAKE}")
    page.wait_for_selector("[data-status='open']")
    steps = page.locator("[data-experiment]")
    predict = functools.partial(lock_in_prediction, steps)

    def picks() -> list[int]:
        return [f["packet"] for f in page.sent if f.get("op") == "experiment.pick"]

    listen(page)
    predict("SYN alone")
    connect(page)
    arrows = page.locator("[data-packets] li.tl-packet button.tl-arrow")
    # Opened before the step asks for a pick: only a look, no pick.
    arrows.nth(0).click()
    expect(arrows.nth(0)).to_have_attribute("aria-expanded", "true")
    assert picks() == []
    arrows.nth(0).click()  # closed again
    predict("The server's kernel, with no call from the program")
    # Opening the SYN is a pick, and the server says why it is not the one.
    arrows.nth(0).click()
    expect(steps.locator(".step-pick-note")).to_have_text(
        "Not that one. That packet is from the laptop; look for one from the server."
    )
    # Opening the SYN-ACK, by the keyboard, is the pick that does the step.
    arrows.nth(1).focus()
    page.keyboard.press("Enter")
    expect(arrows.nth(1)).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#pg-packet-2")).to_be_visible()
    expect(steps.locator("[data-reveal='3']")).to_contain_text(
        "the server's kernel agrees and acknowledges the laptop's SYN"
    )
    arrows.nth(1).click()  # closing it picks nothing
    arrows.nth(2).click()
    expect(page.locator(".step-summary")).to_have_text("Experiment complete. Well done!")
    assert picks() == [1, 2, 3]


@pytest.fixture(scope="module")
def server_keeping_four(tmp_path_factory):
    """The site keeping only each sandbox's last 4 packets (capture_history)."""
    workdir = tmp_path_factory.mktemp("daphne-four-packets")
    with DaphneServer(workdir, PLAYGROUND_CAPTURE_HISTORY="4") as server:
        yield server


def test_it_says_how_many_older_packets_the_timeline_dropped(browser, server_keeping_four):
    with visiting(new_page(browser, server_keeping_four)) as page:
        open_playground(page)
        panel = open_packets(page)
        bind = page.locator("form[data-op='udp.bind']")
        for device, port in (("server", "5353"), ("laptop", "0")):
            bind.locator("select[name=device]").select_option(device)
            bind.locator("input[name=port]").fill(port)
            bind.locator("button").click()
        page.locator("tr[data-id='s2']").wait_for()
        older = panel.locator("[data-packets-older]")
        sendto = page.locator("form[data-op='udp.sendto']")
        sendto.locator("select[name=socket]").select_option("s2")
        for n in range(1, 7):
            sendto.locator("input[name=data]").fill(f"datagram {n}")
            sendto.locator("button").click()
            expect(panel.locator(f"li.tl-packet[data-n='{n}']")).to_have_count(1)
            if n == 4:
                expect(older).to_be_hidden()  # all kept: nothing to say
        said = "Showing the last 4 packets; 2 older ones were dropped."
        expect(older).to_have_text(said)
        expect(panel.locator("[data-packet-rows] tr")).to_have_count(4)
        # A reload draws what the server kept, and the server says what it did not keep.
        page.reload()
        page.wait_for_selector("[data-status='open']")
        expect(panel.locator("[data-capture-note]")).to_have_attribute("data-capture-state", "on")
        assert page.hellos[-1]["capture"]["older"] == 2
        expect(older).to_have_text(said)
        expect(panel.locator("[data-packet-rows] tr")).to_have_count(4)
