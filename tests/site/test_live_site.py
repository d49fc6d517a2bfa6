"""The real site under Daphne with debug off: what a visitor's browser gets."""

import re
import urllib.error
import urllib.request


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_it_serves_the_course_and_its_stylesheet_with_debug_off(daphne_server):
    status, _, page = fetch(daphne_server.url + "/")
    assert status == 200
    assert "Start the course" in page
    css = re.search(r'href="(/static/site/site\.[0-9a-f]+\.css)"', page)
    assert css, "static files should have hashed names with debug off"
    status, headers, body = fetch(daphne_server.url + css.group(1))
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert "max-age" in headers.get("Cache-Control", "")
    assert ".skip-link" in body


def test_it_serves_the_404_page_with_debug_off(daphne_server):
    status, _, page = fetch(daphne_server.url + "/lessons/nope/")
    assert status == 404
    assert "Page not found" in page


def test_it_sends_security_headers(daphne_server):
    _, headers, _ = fetch(daphne_server.url + "/glossary/")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
