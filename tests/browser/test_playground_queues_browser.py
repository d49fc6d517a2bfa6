"""The playground page's controls for the kernel's queues, in a real browser (Chromium
driven by Playwright) against the real site under Daphne: a backlog, accepting and
reading only when told, and connecting a UDP socket, at desktop and phone width."""

from playwright.sync_api import expect


def open_playground(page):
    page.goto(f"{page.base}/playground/")
    page.wait_for_selector("[data-status='open']")


def row(page, socket_id):
    return page.locator(f"tr[data-id='{socket_id}']")


def press(page, label, socket_id):
    row(page, socket_id).get_by_role("button", name=f"{label} {socket_id}", exact=True).click()


def send(page, socket_id, text):
    form = page.locator("form[data-op='send']")
    form.get_by_label("Socket").select_option(socket_id)
    form.get_by_label("Text").fill(text)
    form.get_by_role("button", name="Send").click()


def test_it_fills_the_accept_queue_accepts_when_told_and_receives_two_sends_at_once(page):
    open_playground(page)
    listen = page.locator("form[data-op='tcp.listen']")
    listen.get_by_label("Port").fill("3000")
    backlog = listen.get_by_label("Backlog")
    assert backlog.get_attribute("max") == "16"  # the server's listen_backlog
    backlog.fill("1")
    listen.get_by_label("Accept only on accept()").check()
    listen.get_by_label("Read only on recv()").check()
    listen.get_by_role("button", name="Listen").click()
    page.wait_for_selector("tr[data-id='s1'][data-state='LISTEN']")
    connect = page.locator("form[data-op='tcp.connect']")
    for socket_id in ("s2", "s3", "s4"):
        connect.get_by_role("button", name="Connect").click()
        row(page, socket_id).wait_for()
    # Two wait in the full queue; the third's SYN was dropped.
    page.wait_for_selector("tr[data-id='s3'][data-state='ESTABLISHED']")
    page.wait_for_selector("tr[data-id='s4'][data-state='SYN_SENT']")
    expect(page.locator(".pg-log")).to_contain_text("it waits in SYN_SENT")
    expect(page.locator("[data-rows] tr")).to_have_count(4)  # nothing accepted
    assert "accepts on accept()" in row(page, "s1").inner_text()
    press(page, "Accept", "s1")
    row(page, "s5").wait_for()
    page.wait_for_selector("tr[data-id='s4'][data-state='ESTABLISHED']")
    # s5 is s2's server end, and reads only when told.
    assert row(page, "s5").get_attribute("data-remote") == row(page, "s2").get_attribute(
        "data-local"
    )
    send(page, "s2", "hello")
    send(page, "s2", "world")
    expect(page.locator(".pg-log")).to_contain_text("s2 sent 5 bytes.")
    press(page, "Receive (recv)", "s5")
    expect(page.locator(".pg-log")).to_contain_text("s5 received “helloworld”")
    code = page.locator("[data-code]").inner_text()
    assert "s1.listen(1)" in code
    assert "conn5, addr = s1.accept()" in code and "data = conn5.recv(262144)" in code
    # Nothing more waits: the next recv says so, and links to what EAGAIN means.
    press(page, "Receive (recv)", "s5")
    error = page.locator(".log-error").first
    expect(error).to_contain_text("EAGAIN")
    assert error.get_by_role("link").get_attribute("href") == "/glossary/#errno"


def test_it_connects_a_udp_socket_and_shows_econnrefused_at_phone_width(phone):
    page = phone
    open_playground(page)
    bind = page.locator("form[data-op='udp.bind']")
    bind.get_by_label("Device").select_option("laptop")
    bind.get_by_label("Port").fill("0")
    bind.get_by_label("Read only on recv()").check()
    bind.get_by_role("button", name="Bind").click()
    row(page, "s1").wait_for()
    form = page.locator("form[data-op='udp.connect']")
    form.get_by_label("Socket").select_option("s1")
    form.get_by_label("Port").fill("9999")
    form.get_by_label("Port").press("Enter")  # keyboard only
    page.wait_for_selector("tr[data-id='s1'][data-remote$=':9999']")
    send(page, "s1", "hi")
    expect(page.locator(".pg-log")).to_contain_text("s1 sent 2 bytes.")
    send(page, "s1", "hi")
    error = page.locator(".log-error").first
    expect(error).to_contain_text("ECONNREFUSED on s1")
    link = error.get_by_role("link", name="Glossary: connection refused (ECONNREFUSED)")
    assert link.get_attribute("href") == "/glossary/#econnrefused"
    assert 's1.connect(("' in page.locator("[data-code]").inner_text()
    # The forms, their new fields included, fit the phone's width.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    for name in ("Backlog", "Accept only on accept()"):
        field = page.locator("form[data-op='tcp.listen']").get_by_label(name)
        box = field.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
