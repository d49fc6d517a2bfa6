"""A lesson's "Try it" panel in a real browser (Debian's Chromium driven by Playwright)
against the real site under Daphne.

Rules: the panel runs the experiment in the reader's own sandbox (the session's, the
same as the playground page's), even on a lesson page read from the cache with no
session yet; its steps are ticked only when the server says so; it fits a 390 px
phone; and without JavaScript the "Try it" links still lead to the playground.
"""

from playwright.sync_api import expect

from tests.support.browser_pages import PHONE, WAIT_MS, click_try_it, new_page
from tests.support.live_server import ROOT

SCREENSHOTS = ROOT / "build" / "screenshots"
LESSON = "/lessons/ports/"
EXPERIMENT = "connection-refused"
TRY_IT = f"a[href='/playground/?experiment={EXPERIMENT}']"


def another_tab(page):
    tab = page.context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.on("pageerror", lambda error: page.problems.append(f"script error: {error}"))
    return tab


def panel_of(page):
    return page.locator("[data-lab-panel]")


def open_panel(page, link=TRY_IT, reload=True):
    if reload:
        page.goto(page.base + LESSON)
    click_try_it(page, link)
    panel = panel_of(page)
    expect(panel).to_be_visible()
    panel.locator("[data-status='open']").wait_for()
    return panel


def listen(panel, port=3000):
    form = panel.locator("form[data-op='tcp.listen']")
    form.locator("select[name=device]").select_option("server")
    form.locator("input[name=port]").fill(str(port))
    form.locator("button").click()


def connect(panel, port=3000):
    form = panel.locator("form[data-op='tcp.connect']")
    form.locator("select[name=device]").select_option("laptop")
    form.locator("select[name=to_device]").select_option("server")
    form.locator("input[name=to_port]").fill(str(port))
    form.locator("button").click()


def steps_done(panel, count):
    expect(panel.locator("[data-experiment] .step-done")).to_have_count(count)


def test_it_does_an_experiment_in_the_lesson_in_the_sandbox_of_the_playground(page):
    page.goto(page.base + LESSON)
    # The lesson page is cached whole and read with no session: the panel makes one.
    assert "sessionid" not in {c["name"] for c in page.context.cookies()}
    # The page around the panel hears of the progress too (for its lab state).
    page.evaluate(
        """window.news = [];
           document.addEventListener('playground:progress', (e) => window.news.push(e.detail))"""
    )
    panel = open_panel(page, reload=False)
    assert page.url == page.base + LESSON  # the reader stays in the lesson
    expect(panel.locator("[data-experiment-title]")).to_have_text(
        "Connection refused: a port with no socket"
    )
    expect(panel.get_by_role("link", name="Open the full playground")).to_have_attribute(
        "href", f"/playground/?experiment={EXPERIMENT}"
    )
    # Step 1 (nothing at server port 3000) holds in a fresh sandbox.
    steps_done(panel, 1)
    expect(panel.locator(".step-summary")).to_have_text("Step 2 of 4.")
    form = panel.locator("[data-experiment] form[data-predict]")
    form.get_by_role("radio", name="ECONNREFUSED", exact=True).check()
    form.get_by_role("button", name="Lock in my prediction").click()
    connect(panel)
    error = panel.locator("[data-log] .log-error").first
    expect(error).to_contain_text("ECONNREFUSED")
    steps_done(panel, 2)
    expect(panel.locator("[data-reveal='2']")).to_contain_text(
        "You predicted “ECONNREFUSED”; the kernel said “ECONNREFUSED”. You were right."
    )
    listen(panel)
    panel.locator("tr[data-id='s1'][data-state='LISTEN']").wait_for()
    steps_done(panel, 3)
    connect(panel)
    panel.locator("tr[data-id='s3'][data-state='ESTABLISHED']").wait_for()
    steps_done(panel, 4)
    expect(panel.locator(".step-summary")).to_have_text("Experiment complete. Well done!")
    assert panel.locator(".step-done").first.inner_text().startswith("✓ Done: ")
    assert page.evaluate("window.news.at(-1)") == {
        "experiment": EXPERIMENT,
        "done": 4,
        "steps": 4,
        "finished": True,
    }

    # The playground page in another tab shows the same sandbox and the same progress.
    playground = another_tab(page)
    playground.goto(page.base + "/playground/")
    for socket_id in ("s1", "s2", "s3"):
        playground.locator(f"tr[data-id='{socket_id}']").wait_for()
    expect(playground.locator("[data-experiment-select]")).to_have_value(EXPERIMENT)
    expect(playground.locator(".step-summary")).to_have_text("Experiment complete. Well done!")
    # What that tab does shows in the panel at once: one sandbox, every tab its events.
    playground.locator("tr[data-id='s1']").get_by_role("button", name="Close s1").click()
    panel.locator("tr[data-id='s1']").wait_for(state="detached")


def test_it_makes_one_session_when_the_lesson_is_marked_read_at_the_same_time(page):
    # lesson.js marks the lesson read when its end comes into view, with a POST that makes
    # a session for a reader with none. Held here, it is still unanswered when the panel
    # opens: the panel must wait for it, not make a second session of its own.
    held = []
    page.route(f"**{LESSON}read/", lambda route: held.append(route))
    page.goto(page.base + LESSON)
    with page.expect_request(f"**{LESSON}read/"):
        page.locator("[data-lesson-end]").scroll_into_view_if_needed()
    click_try_it(page, TRY_IT)
    expect(panel_of(page)).to_be_visible()
    held[0].continue_()
    panel = panel_of(page)
    panel.locator("[data-status='open']").wait_for()
    listen(panel)
    panel.locator("tr[data-id='s1']").wait_for()
    playground = another_tab(page)
    playground.goto(page.base + "/playground/")
    playground.locator("tr[data-id='s1'][data-state='LISTEN']").wait_for()
    playground.goto(page.base + LESSON)
    expect(playground.locator("[data-read-state]")).to_contain_text("You have read this lesson.")


def test_it_closes_and_reopens_on_the_same_sandbox(page):
    panel = open_panel(page)
    listen(panel)
    panel.locator("tr[data-id='s1']").wait_for()
    link = page.locator(TRY_IT).first
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(link).to_be_focused()
    expect(link).to_have_attribute("aria-expanded", "false")
    # Another experiment of the lesson: the panel comes back with the same sockets.
    other = "a[href='/playground/?experiment=same-port-tcp-udp']"
    page.locator(other).first.click()
    expect(panel).to_be_visible()
    panel.locator("tr[data-id='s1'][data-state='LISTEN']").wait_for()
    expect(panel.locator("[data-experiment-title]")).to_have_text("One port number, TCP and UDP")
    # This experiment speaks of UDP: the panel shows its UDP forms.
    expect(panel.locator("form[data-op='udp.bind']")).to_be_visible()
    panel.get_by_role("button", name="Close the experiment panel").click()
    expect(panel).to_be_hidden()


def test_it_fits_a_phone(phone):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    panel = open_panel(phone)
    listen(panel)
    connect(panel)
    panel.locator("tr[data-id='s3'][data-state='ESTABLISHED']").wait_for()
    steps_done(panel, 1)
    phone.screenshot(path=SCREENSHOTS / "lesson-panel-phone.png")
    page_overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert page_overflow <= 0, f"the page scrolls sideways by {page_overflow}px"
    panel_overflow = panel.evaluate("el => el.scrollWidth - el.clientWidth")
    assert panel_overflow <= 0, f"the panel scrolls sideways by {panel_overflow}px"
    # Every piece of visible text is at least 12 px, every control at least 44 px tall.
    small_text = panel.evaluate(
        """panel => [...panel.querySelectorAll('*')]
             .filter(el => el.checkVisibility() && !el.closest('.visually-hidden')
                     && [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
             .filter(el => parseFloat(getComputedStyle(el).fontSize) < 12)
             .map(el => el.textContent.trim().slice(0, 40))"""
    )
    assert small_text == []
    small_controls = panel.evaluate(
        """panel => [...panel.querySelectorAll(
               'button, select, input:not([type=checkbox]):not([type=hidden]), a.button,'
               + ' summary, label.check, [data-lesson-link]')]
             .filter(el => el.checkVisibility() && !el.closest('.visually-hidden'))
             .filter(el => el.getBoundingClientRect().height < 44)
             .map(el => `${el.tagName} ${el.textContent.trim().slice(0, 30)}`)"""
    )
    assert small_controls == []
    # The lesson above stays readable: the panel covers the lower part of the screen only.
    box = panel.bounding_box()
    assert box["y"] > PHONE["height"] / 4
    assert (SCREENSHOTS / "lesson-panel-phone.png").stat().st_size > 10_000


def test_it_leaves_the_links_to_the_playground_without_javascript(browser, daphne_server):
    page = new_page(browser, daphne_server, java_script_enabled=False)
    page.goto(page.base + LESSON)
    expect(panel_of(page)).to_be_hidden()
    page.locator(TRY_IT).first.click()
    page.wait_for_url(f"**/playground/?experiment={EXPERIMENT}")
    assert "needs JavaScript" in page.locator("noscript").first.inner_html()
    page.context.close()
