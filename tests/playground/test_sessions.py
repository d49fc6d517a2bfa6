"""No session is written by a GET: a visitor who only reads (or a crawler, or a script
that fetches pages without cookies) leaves no session row, and a visitor or user who
has a session finds it unchanged (data and expiry) after reading every page. The
playground's page makes its session with a POST (CSRF-protected) from its script,
before its WebSocket opens: the page still works on a first visit
(tests/browser/test_playground_feedback_browser.py, test_it_connects_on_a_first_visit_...)."""

import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from sockets_site.learners import SESSION_KEY

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def public_pages() -> list[str]:
    """Every page a visitor may GET: every published lesson and quiz, as the database
    has them, and every other page reachable without an account."""
    from django.urls import reverse

    from labs.models import Experiment
    from lessons.models import Lesson, Quiz

    lessons = Lesson.objects.filter(published=True).values_list("slug", flat=True)
    quizzes = Quiz.objects.filter(published=True).values_list("slug", flat=True)
    experiment = Experiment.objects.filter(published=True).values_list("slug", flat=True)[0]
    assert lessons and quizzes
    return [
        reverse("lessons:index"),
        *(reverse("lessons:detail", args=[slug]) for slug in lessons),
        reverse("lessons:quiz_list"),
        *(reverse("lessons:quiz", args=[slug]) for slug in quizzes),
        reverse("lessons:glossary"),
        reverse("review:index"),
        reverse("accounts:login"),
        reverse("accounts:signup"),
        reverse("accounts:password_reset"),
        reverse("accounts:password_reset_done"),
        reverse("accounts:password_reset_complete"),
        reverse("accounts:account"),
        reverse("accounts:delete_progress"),
        reverse("playground:index"),
        f"{reverse('playground:index')}?experiment={experiment}",
    ]


@pytest.mark.django_db
def test_it_writes_no_session_row_for_twenty_cookie_less_gets_of_every_public_page(course):
    for url in public_pages():
        for _ in range(20):
            response = Client().get(url)
            assert response.status_code == 200, url
            assert "sessionid" not in response.cookies, url
        assert Session.objects.count() == 0, url


def session_row(key: str) -> tuple:
    row = Session.objects.get(session_key=key)
    return row.session_data, row.expire_date


@pytest.mark.django_db
@pytest.mark.parametrize("logged_in", [False, True], ids=["visitor", "logged-in"])
def test_it_changes_nothing_in_a_session_that_gets_every_public_page(
    course, django_user_model, logged_in
):
    browser = Client()
    if logged_in:
        browser.force_login(django_user_model.objects.create_user("reader"))
    else:
        token = CSRF.search(browser.get("/playground/").content.decode()).group(1)
        browser.post("/playground/session/", headers={"X-CSRFToken": token})
    key = browser.cookies["sessionid"].value
    before = session_row(key)
    for url in public_pages():
        response = browser.get(url)
        assert response.status_code in (200, 302), url  # the log-in page sends a user on
        assert "sessionid" not in response.cookies, url
        assert session_row(key) == before, url
    assert Session.objects.count() == 1


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
