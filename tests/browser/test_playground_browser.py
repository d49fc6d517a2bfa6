"""The playground page in a real browser (Debian's Chromium driven by Playwright)
against the real site under Daphne. The guided experiments come from the server:
the page lists what `hello` lists and ticks a step only when the server says so."""

import re

from playwright.sync_api import expect

from tests.support.browser_pages import WAIT_MS, new_page, visiting
from tests.support.live_server import ROOT
from tests.support.playground_helpers import namespace_helper_pid, namespace_table

SCREENSHOTS = ROOT / "build" / "screenshots"


def open_playground(page, query=""):
    page.goto(f"{page.base}/playground/{query}")
    page.wait_for_selector("[data-status='open']")


def listen(page, device="server", port=3000, reuse=False):
    form = page.locator("form[data-op='tcp.listen']")
    form.locator("select[name=device]").select_option(device)
    form.locator("input[name=port]").fill(str(port))
    form.locator("input[name=reuse_address]").set_checked(reuse)
    form.locator("button").click()


def connect(page, port=3000):
    form = page.locator("form[data-op='tcp.connect']")
    form.locator("input[name=to_port]").fill(str(port))
    form.locator("button").click()


def start_experiment(page, experiment_id):
    """Choose an experiment in the list and start it, as a learner does: choosing alone
    starts nothing."""
    page.locator("[data-experiment-select]").select_option(experiment_id)
    page.locator("[data-experiment-go]").click()


def row(page, socket_id):
    return page.locator(f"tr[data-id='{socket_id}']")


def cells(page, socket_id) -> list[str]:
    return [c.strip() for c in row(page, socket_id).locator("td").all_inner_texts()]


def steps_done(page, count):
    expect(page.locator("[data-experiment] .step-done")).to_have_count(count)


def predict(box, choice):
    """Choose one of the current step's predictions and lock it in, as a learner does."""
    form = box.locator("[data-experiment] form[data-predict]")
    step = form.get_attribute("data-predict")
    form.get_by_role("radio", name=choice, exact=True).check()
    form.get_by_role("button", name="Lock in my prediction").click()
    # Asked no more once the server has it (the step may even be done at once).
    expect(box.locator(f"[data-experiment] form[data-predict='{step}']")).to_have_count(0)


def pick(box, socket_id):
    """Pick a socket of the table for the current step."""
    row(box, socket_id).get_by_role("button", name=re.compile(f"^Pick {socket_id},")).click()


def complete(page):
    expect(page.locator(".step-summary")).to_have_text("Experiment complete. Well done!")


def connected(page):
    listen(page)
    row(page, "s1").wait_for()
    connect(page)
    row(page, "s3").wait_for()
    page.wait_for_selector("tr[data-id='s2'][data-state='ESTABLISHED']")


def test_it_listens_connects_and_delivers_text(page):
    open_playground(page)
    listen(page)
    page.wait_for_selector("tr[data-id='s1'][data-state='LISTEN']")
    connect(page)
    page.wait_for_selector("tr[data-id='s3'][data-state='ESTABLISHED']")
    form = page.locator("form[data-op='send']")
    form.locator("select[name=socket]").select_option("s2")
    form.locator("input[name=data]").fill("hello, server")
    form.locator("button").click()
    page.get_by_text("s3 received “hello, server”").wait_for()
    assert 's2.sendall("hello, server".encode())' in page.locator("[data-code]").inner_text()
    # Queues and bytes are in the row's disclosure.
    more = row(page, "s3").locator("details[data-more]")
    more.locator("summary").click()
    expect(more.locator("dd").nth(1)).to_have_text("13 / 0")


def test_it_shows_the_same_5_tuples_and_states_as_the_kernel(page, daphne_server):
    open_playground(page)
    connected(page)
    # The sandbox's sockets live in the server's network namespace: read its table.
    kernel = namespace_table(namespace_helper_pid(daphne_server.process.pid))
    for socket_id in ("s1", "s2", "s3"):
        _, lip, lport, rip, rport, protocol, *_rest = cells(page, socket_id)
        state = row(page, socket_id).get_attribute("data-state")
        remote = ("0.0.0.0", 0) if rip == "—" else (rip, int(rport))  # noqa: S104
        assert protocol == "TCP"
        assert kernel[(lip, int(lport), *remote)] == state


def test_it_marks_sockets_the_kernel_keeps_after_close(page):
    open_playground(page)
    connected(page)
    row(page, "s3").get_by_role("button", name="Close s3").click()
    row(page, "s2").get_by_role("button", name="Close s2").click()
    lingering = page.locator("tr[data-id='s3'][data-state='TIME_WAIT']")
    lingering.wait_for()
    assert "is-lingering" in lingering.get_attribute("class")
    text = lingering.inner_text()
    assert "TIME_WAIT (closed)" in text and "the kernel still holds it" in text
    # The ss view names the states as ss(8) does.
    ss = page.locator("[data-ss]").text_content()
    assert "TIME-WAIT" in ss and "TIME_WAIT" not in ss and "ESTABLISHED" not in ss


def test_it_finds_its_sockets_again_after_a_reload(page):
    open_playground(page)
    connected(page)
    page.reload()
    page.wait_for_selector("[data-status='open']")
    for socket_id in ("s1", "s2", "s3"):
        row(page, socket_id).wait_for()
    assert "ESTABLISHED" in row(page, "s2").inner_text()


def test_it_completes_a_guided_experiment_and_keeps_it_after_a_reload(page):
    open_playground(page)
    # The list comes from the server's hello.
    page.locator("[data-experiment-select] option[value='udp-no-connection']").wait_for(
        state="attached"
    )
    start_experiment(page, "udp-no-connection")
    page.wait_for_url("**/playground/?experiment=udp-no-connection")
    expect(page.locator(".step-summary")).to_have_text("Step 1 of 4.")
    assert page.locator(".step-current").inner_text().startswith("Now: Bind a UDP socket")
    bind = page.locator("form[data-op='udp.bind']")
    bind.locator("select[name=device]").select_option("server")
    bind.locator("input[name=port]").fill("5353")
    bind.locator("button").click()
    row(page, "s1").wait_for()
    steps_done(page, 1)
    bind.locator("select[name=device]").select_option("laptop")
    bind.locator("input[name=port]").fill("0")
    bind.locator("button").click()
    row(page, "s2").wait_for()
    steps_done(page, 2)
    predict(page, "Send the datagram: UDP needs no connection")
    send = page.locator("form[data-op='udp.sendto']")
    send.locator("select[name=socket]").select_option("s2")
    send.locator("button").click()
    steps_done(page, 3)
    pick(page, "s1")
    complete(page)
    steps_done(page, 4)
    # The server keeps the progress: a reload shows it, with the sockets.
    page.reload()
    page.wait_for_selector("[data-status='open']")
    complete(page)
    steps_done(page, 4)
    expect(page.locator("[data-experiment-select]")).to_have_value("udp-no-connection")


def test_it_follows_the_experiment_another_tab_starts(page):
    open_playground(page, "?experiment=three-sockets")
    expect(page.locator(".step-summary")).to_have_text("Step 1 of 3.")
    other = page.context.new_page()
    other.set_default_timeout(WAIT_MS)
    other.base = page.base
    open_playground(other)
    expect(other.locator("[data-experiment-select]")).to_have_value("three-sockets")
    start_experiment(other, "two-clients")
    # One active experiment per sandbox: the first tab follows.
    expect(page.locator("[data-experiment-select]")).to_have_value("two-clients")
    listen(other)
    steps_done(page, 1)
    expect(page.locator(".step-summary")).to_have_text("Step 2 of 4.")


def test_it_shows_and_explains_an_error(page):
    open_playground(page)
    listen(page)
    row(page, "s1").wait_for()
    listen(page)
    error = page.locator(".log-error").first
    error.wait_for()
    assert "EADDRINUSE" in error.inner_text()
    assert "only if both set the SO_REUSEPORT option" in error.inner_text()
    link = error.get_by_role("link", name="Glossary: address already in use (EADDRINUSE)")
    assert link.get_attribute("href") == "/glossary/#eaddrinuse"


def test_it_completes_the_connection_refused_experiment(page):
    open_playground(page, "?experiment=connection-refused")
    steps = page.locator("[data-experiment]")
    steps_done(page, 1)  # nothing is bound at server port 3000 yet
    expect(page.locator(".step-summary")).to_have_text("Step 2 of 4.")
    back = steps.locator("a[data-lesson-link]")
    assert back.get_attribute("href") == "/lessons/ports/#a-port-with-nothing-at-it"
    connect(page)
    error = page.locator(".log-error").first
    error.wait_for()
    assert "ECONNREFUSED" in error.inner_text()
    link = error.get_by_role("link", name="Glossary: connection refused (ECONNREFUSED)")
    assert link.get_attribute("href") == "/glossary/#econnrefused"
    steps_done(page, 1)  # acted before predicting: the step waits for the prediction
    predict(page, "ECONNREFUSED")
    connect(page)
    steps_done(page, 2)
    listen(page)
    row(page, "s1").wait_for()
    steps_done(page, 3)
    connect(page)
    complete(page)
    steps_done(page, 4)
    assert (
        row(page, "s1")
        .locator("td")
        .nth(3)
        .get_attribute("title")
        .startswith("A listening socket never has a remote address")
    )


def test_it_asks_a_prediction_first_and_then_shows_it_beside_the_kernels_answer(page):
    open_playground(page, "?experiment=connection-refused")
    steps_done(page, 1)
    current = page.locator("[data-experiment] .step-current")
    question = current.get_by_role("group", name=re.compile("What will connect\\(\\) return\\?"))
    expect(question).to_be_visible()
    # Nothing of the answer is on the page before the kernel has said it.
    assert "no socket listens there" not in page.locator("[data-experiment]").inner_text()
    lock = question.get_by_role("button", name="Lock in my prediction")
    lock.focus()  # reachable by the keyboard, and refused without a choice
    page.keyboard.press("Enter")
    expect(question).to_be_visible()
    question.get_by_role("radio", name="It waits until a program listens there").check()
    lock.click()
    expect(current.locator(".step-predicted")).to_contain_text(
        "Your prediction: “It waits until a program listens there”."
    )
    connect(page)
    steps_done(page, 2)
    reveal = page.locator("[data-experiment] [data-reveal='2']")
    expect(reveal).to_contain_text(
        "You predicted “It waits until a program listens there”; the kernel said "
        "“ECONNREFUSED”. Your prediction was wrong."
    )
    expect(reveal).to_contain_text("no socket listens there")
    # Said aloud as well: the polite live region carries the same words.
    news = page.locator("[data-experiment-news]")
    assert news.get_attribute("aria-live") == "polite"
    expect(news).to_contain_text("Step 2 done. You predicted “It waits until a program")
    # A reload shows the same, from the server.
    page.reload()
    page.wait_for_selector("[data-status='open']")
    expect(page.locator("[data-experiment] [data-reveal='2']")).to_contain_text(
        "Your prediction was wrong."
    )


def test_it_does_a_picked_step_only_with_the_learners_pick(page):
    open_playground(page, "?experiment=port-before-socket")
    steps_done(page, 1)
    predict(page, "None: a listener is connected to nobody")
    listen(page)
    steps_done(page, 2)  # the listener is there, but step 3 asks the learner to find it
    connect(page)
    row(page, "s3").wait_for()
    pick(page, "s2")
    expect(page.locator("[data-experiment] .step-pick-note")).to_contain_text(
        "Not that one. That is socket s2, a TCP client socket on laptop"
    )
    steps_done(page, 2)
    pick(page, "s1")
    complete(page)
    expect(page.locator("[data-experiment] [data-reveal='3']")).to_contain_text(
        "State LISTEN, and no remote address"
    )
    # No pick buttons once nothing is to be picked.
    expect(page.get_by_role("button", name=re.compile("^Pick "))).to_have_count(0)


def test_it_is_usable_at_desktop_and_phone_width_and_saves_screenshots(browser, daphne_server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, size in (
        ("desktop", {"width": 1400, "height": 1000}),
        ("phone", {"width": 390, "height": 844}),
    ):
        with visiting(new_page(browser, daphne_server, viewport=size)) as page:
            open_playground(page, "?experiment=three-sockets")
            listen(page)
            steps_done(page, 1)
            predict(page, "An ephemeral port that the laptop's kernel picks")
            connect(page)
            row(page, "s3").wait_for()
            steps_done(page, 2)
            pick(page, "s3")
            complete(page)
            page.screenshot(path=SCREENSHOTS / f"playground-{name}.png", full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px"
            # Every control is reachable with the keyboard and labelled.
            unlabelled = page.evaluate(
                """[...document.querySelectorAll('form input, form select')]
                     .filter(el => !el.labels || el.labels.length === 0).length"""
            )
            assert unlabelled == 0
        assert (SCREENSHOTS / f"playground-{name}.png").stat().st_size > 10_000


def test_it_reconnects_after_a_drop_and_rebuilds_from_the_snapshot(page):
    routes = []

    def through(route):
        route.connect_to_server()
        routes.append(route)

    page.route_web_socket("**/ws/playground/", through)
    open_playground(page)
    connected(page)
    start_experiment(page, "three-sockets")
    steps_done(page, 1)
    predict(page, "An ephemeral port that the laptop's kernel picks")  # the connection is made
    pick(page, "s3")
    complete(page)
    routes[0].close(code=1006, reason="network gone")
    page.wait_for_selector("[data-status='closed']")
    assert "retrying" in page.locator("[data-status-text]").inner_text()
    page.wait_for_selector("[data-status='open']")
    assert len(routes) == 2
    for socket_id in ("s1", "s2", "s3"):
        row(page, socket_id).wait_for()
    # The new connection's hello brings the progress back.
    complete(page)


def test_it_defaults_the_send_form_to_the_socket_just_made_and_names_it_by_5_tuple(page):
    open_playground(page)
    connected(page)
    select = page.locator("form[data-op='send'] select[name=socket]")
    # The client the learner just made, not the accepted socket listed first.
    expect(select).to_have_value("s2")
    label = select.locator("option:checked").inner_text()
    assert re.fullmatch(
        r"s2 · laptop client 127\.\d+\.\d+\.\d+:\d+ → 127\.\d+\.\d+\.\d+:3000", label
    ), label
    accepted = select.locator("option[value='s3']").inner_text()
    assert accepted.startswith("s3 · server accepted ") and accepted.endswith(label.split(" ")[4])
    # Sending from the accepted socket makes it the one acted on last; a new
    # connection's client takes over again.
    select.select_option("s3")
    page.locator("form[data-op='send'] button").click()
    page.get_by_text("s2 received “hello”").wait_for()
    expect(select).to_have_value("s3")
    connect(page)
    row(page, "s5").wait_for()
    expect(select).to_have_value("s4")


def test_it_fits_the_socket_table_at_desktop_and_phone_width(browser, daphne_server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, size in (
        ("desktop", {"width": 1280, "height": 900}),
        ("phone", {"width": 390, "height": 844}),
    ):
        with visiting(new_page(browser, daphne_server, viewport=size)) as page:
            open_playground(page)
            page.screenshot(
                path=SCREENSHOTS / f"playground-layout-empty-{name}.png", full_page=True
            )
            connected(page)
            # A closed socket's row, with its note, is the widest.
            row(page, "s3").get_by_role("button", name="Close s3").click()
            page.wait_for_selector("tr[data-id='s3'][data-closed='true']")
            page.screenshot(
                path=SCREENSHOTS / f"playground-layout-sockets-{name}.png", full_page=True
            )
            table = page.locator("[data-table]")
            measure = """t => [t.scrollWidth, t.clientWidth, t.parentElement.scrollWidth,
                              t.parentElement.clientWidth]"""
            fits = table.evaluate(measure)
            assert fits[0] <= fits[1] and fits[2] <= fits[3], f"{name}: the table scrolls: {fits}"
            # The longest addresses and ports a sandbox can have fit too.
            fits = table.evaluate(
                """t => {
                     for (const td of t.querySelectorAll("td.five.mono")) {
                       td.textContent = td.textContent.includes(".") ? "127.255.255.255" : "60999";
                     }
                     return (MEASURE)(t);
                   }""".replace("MEASURE", measure)
            )
            assert fits[0] <= fits[1] and fits[2] <= fits[3], f"{name}: long addresses: {fits}"
            for socket_id in ("s1", "s2", "s3"):
                state = row(page, socket_id).locator("td.state")
                state.scroll_into_view_if_needed()
                box = state.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (name, box)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px"


# Every text of the diagram as rendered: its font size in CSS pixels (the SVG's scale
# applied), its box and its device's box.
DIAGRAM_TEXTS = """box => [...box.querySelectorAll('svg text')].map(t => {
  const r = t.getBoundingClientRect();
  const device = t.closest('g.device')?.querySelector('rect.device-box')?.getBoundingClientRect();
  return {
    text: t.textContent,
    empty: t.classList.contains('device-empty'),
    px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
    box: [r.left, r.top, r.right, r.bottom],
    device: device ? [device.left, device.top, device.right, device.bottom] : null,
  };
})"""


def inside(box, outer) -> bool:
    return box[0] >= outer[0] and box[1] >= outer[1] and box[2] <= outer[2] and box[3] <= outer[3]


def test_it_draws_the_diagram_legibly_at_desktop_and_phone_width(browser, daphne_server):
    for name, size in (
        ("desktop", {"width": 1280, "height": 900}),
        ("phone", {"width": 390, "height": 844}),
    ):
        with visiting(new_page(browser, daphne_server, viewport=size)) as page:
            open_playground(page)
            diagram = page.locator("[data-diagram]")
            diagram.locator("svg text.device-empty").first.wait_for()
            for phase in ("empty", "sockets"):
                if phase == "sockets":
                    listen(page)
                    row(page, "s1").wait_for()
                    expect(diagram.locator("svg text.device-empty")).to_have_count(1)
                texts = diagram.evaluate(DIAGRAM_TEXTS)
                assert texts
                for text in texts:
                    assert text["px"] >= 12, f"{name}, {phase}: {text}"
                    assert inside(text["box"], text["device"]), f"{name}, {phase}: {text}"
                assert any(t["empty"] for t in texts)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px"
            connect(page)
            row(page, "s3").wait_for()
            for text in diagram.evaluate(DIAGRAM_TEXTS):
                assert text["px"] >= 12, f"{name}, connected: {text}"
            diagram.screenshot(path=SCREENSHOTS / f"playground-layout-diagram-{name}.png")
