"""Where the playground page puts things, in a real browser (Debian's Chromium driven by
Playwright) against the real site under Daphne.

Rules: on a phone (390x844) the sockets panel is docked at the bottom of the screen
while the controls scroll above it, so the socket an action makes is on screen, whole
and uncovered, when the action is made, with no scrolling; on a desktop (1280x900) the
socket table and the first form are in the first screen.
"""

from playwright.sync_api import expect

from tests.support.browser_pages import PHONE, new_page, visiting

DESKTOP = {"width": 1280, "height": 900}

# Whether an element is wholly on screen and seen: inside the window, and what the
# browser finds at its middle and near its corners is the element (nothing covers it,
# no scrolling box clips it).
SEEN = """el => {
  const r = el.getBoundingClientRect();
  if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) return false;
  const points = [
    [(r.left + r.right) / 2, (r.top + r.bottom) / 2],
    [r.left + 12, r.top + 12], [r.right - 12, r.top + 12],
    [r.left + 12, r.bottom - 12], [r.right - 12, r.bottom - 12],
  ];
  return points.every(([x, y]) => el.contains(document.elementFromPoint(x, y)));
}"""


def open_playground(page):
    page.goto(f"{page.base}/playground/")
    page.wait_for_selector("[data-status='open']")
    page.locator("form[data-op='tcp.listen'] select[name=device] option").first.wait_for(
        state="attached"
    )


def seen(page, selector) -> bool:
    return page.locator(selector).evaluate(SEEN)


def test_it_shows_the_socket_an_action_makes_beside_the_controls_on_a_phone(browser, daphne_server):
    with visiting(
        new_page(browser, daphne_server, viewport=PHONE, is_mobile=True, has_touch=True)
    ) as phone:
        open_playground(phone)
        listen = phone.locator("form[data-op='tcp.listen']")
        listen.locator("select[name=device]").select_option("server")
        listen.locator("input[name=port]").fill("3000")
        listen.get_by_role("button", name="Listen").click()
        phone.locator("tr[data-id='s1'][data-state='LISTEN']").wait_for()
        scrolled = phone.evaluate("scrollY")
        assert seen(phone, "tr[data-id='s1']"), "the listener's card is off screen"
        assert seen(phone, "form[data-op='tcp.listen'] button[type=submit]")
        connect = phone.locator("form[data-op='tcp.connect']")
        connect.locator("input[name=to_port]").fill("3000")
        connect.get_by_role("button", name="Connect").click()
        phone.locator("tr[data-id='s2'][data-state='ESTABLISHED']").wait_for()
        phone.locator("tr[data-id='s3'][data-state='ESTABLISHED']").wait_for()
        # The client the Connect made, and the socket its listener accepted.
        assert seen(phone, "tr[data-id='s2']"), "the client's card is off screen"
        assert seen(phone, "tr[data-id='s3']"), "the accepted socket's card is off screen"
        assert seen(phone, "form[data-op='tcp.connect'] button[type=submit]")
        # The page itself stayed where the learner's finger was.
        assert phone.evaluate("scrollY") >= scrolled
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def test_it_keeps_a_focused_control_clear_of_the_docked_sockets_on_a_phone(browser, daphne_server):
    with visiting(new_page(browser, daphne_server, viewport=PHONE)) as phone:
        open_playground(phone)
        phone.locator("form[data-op='tcp.listen'] button[type=submit]").click()
        phone.locator("tr[data-id='s1']").wait_for()
        # Tabbing on through the forms: each control reached is in view, not under the dock.
        phone.locator("form[data-op='tcp.connect'] select[name=device]").focus()
        for _ in range(12):
            phone.keyboard.press("Tab")
            focused = phone.evaluate_handle("document.activeElement")
            if focused.evaluate("el => !el.closest('.pg-dock')"):
                assert focused.evaluate(SEEN), focused.evaluate("el => el.outerHTML")


def test_it_shows_the_table_and_the_first_form_in_a_desktops_first_screen(browser, daphne_server):
    with visiting(new_page(browser, daphne_server, viewport=DESKTOP)) as page:
        open_playground(page)
        assert page.evaluate("scrollY") == 0
        for selector in ("#table-heading", "[data-table] thead", "[data-empty]"):
            assert seen(page, selector), selector
        legend = page.locator("form[data-op='tcp.listen'] legend")
        expect(legend).to_have_text("TCP listen")
        assert legend.evaluate(SEEN)
        # The table is not docked on a desktop: it stays in its column.
        position = page.locator(".pg-dock").evaluate("el => getComputedStyle(el).position")
        assert position == "static"


def test_it_shows_a_failed_actions_words_on_screen_beside_its_button_on_a_phone(
    browser, daphne_server
):
    with visiting(
        new_page(browser, daphne_server, viewport=PHONE, is_mobile=True, has_touch=True)
    ) as phone:
        open_playground(phone)
        # A listener, so the dock holds a card, then a Connect to a port nobody listens on.
        phone.locator("form[data-op='tcp.listen'] button[type=submit]").click()
        phone.locator("tr[data-id='s1']").wait_for()
        connect = phone.locator("form[data-op='tcp.connect']")
        connect.locator("input[name=to_port]").fill("3999")
        connect.get_by_role("button", name="Connect").click()
        box = phone.locator("[data-error-for='form:tcp.connect']")
        expect(box).to_contain_text("That did not work")
        # Where the finger was: the words are on screen and not under the docked sockets.
        assert seen(phone, "[data-error-for='form:tcp.connect']"), "the failure is off screen"
