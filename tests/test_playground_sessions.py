"""No session is written by a GET: a visitor who only reads (or a crawler, or a script
that fetches pages without cookies) leaves no session row. The playground's page makes
its session with a POST (CSRF-protected) from its script, before its WebSocket opens:
the page still works on a first visit
(tests/test_playground_feedback_browser.py, test_it_connects_on_a_first_visit_...)."""

import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from lessons.learners import SESSION_KEY

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def public_pages() -> list[str]:
    from lessons.models import Lesson, Quiz

    return [
        "/",
        f"/lessons/{Lesson.objects.first().slug}/",
        "/quizzes/",
        f"/quizzes/{Quiz.objects.first().slug}/",
        "/glossary/",
        "/review/",
        "/playground/",
        "/playground/?experiment=connection-refused",
    ]


@pytest.mark.django_db
def test_it_writes_no_session_row_for_twenty_cookie_less_gets_of_every_public_page(course):
    for url in public_pages():
        for _ in range(20):
            response = Client().get(url)
            assert response.status_code == 200, url
            assert "sessionid" not in response.cookies, url
        assert Session.objects.count() == 0, url


@pytest.mark.django_db
def test_it_makes_the_playground_s_session_with_the_page_s_csrf_token(course):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/playground/").content.decode()
    assert "sessionid" not in browser.cookies
    assert 'data-session-url="/playground/session/"' in page
    assert browser.post("/playground/session/").status_code == 403
    token = CSRF.search(page).group(1)
    response = browser.post("/playground/session/", headers={"X-CSRFToken": token})
    assert response.status_code == 204
    assert browser.session.session_key and browser.session[SESSION_KEY]
    assert Session.objects.count() == 1
