"""Every public page kept whole for visitors (sockets_site.page_cache): served from memory,
with nothing of one visitor's on another's page, no draft on a public one, no answer on
a quiz page, a CSRF token of each visitor's own, forms that still submit, and an edit
shown at once."""

import re

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from lessons.models import Attempt, GlossaryTerm, Lesson, Quiz
from tests.support.forms import (
    assert_no_answer_key,
    page_token,
    question_order,
    submission,
    without_lab_questions,
)

PUBLIC_PAGES = ["/", "/quizzes/", "/quizzes/sockets-quiz/", "/glossary/", "/playground/"]
WITH_FORMS = ["/quizzes/sockets-quiz/", "/playground/"]  # the others have no form for visitors


@pytest.fixture
def quiz(course):
    return without_lab_questions(Quiz.objects.get(slug="sockets-quiz"))


def _page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _csrf(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    return found[1] if found else ""


def _questions(page: str) -> str:
    return re.search(r'<ol class="questions">.*?</ol>\s*<p class="quiz-actions">', page, re.S)[0]


def _with_message(client, text: str) -> None:
    storage = CookieStorage(RequestFactory().get("/"))
    client.cookies["messages"] = storage._encode([Message(constants.INFO, text)])


def _take(client, quiz, wrong=frozenset()):
    page = _page(client, quiz.get_absolute_url())
    response = client.post(quiz.get_absolute_url(), submission(page, quiz, wrong))
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


@pytest.mark.django_db
@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_it_serves_a_public_page_to_a_visitor_without_a_query_once_kept(client, quiz, url):
    first = _page(client, url)
    with CaptureQueriesContext(connection) as queries:
        again = _page(client, url)
    assert [query["sql"] for query in queries] == []
    if url != "/quizzes/sockets-quiz/":  # a quiz page's token is each page's own
        assert again.replace(_csrf(again), "") == first.replace(_csrf(first), "")


@pytest.mark.django_db
@pytest.mark.parametrize("url", WITH_FORMS)
def test_it_gives_each_visitor_a_csrf_token_of_their_own(course, url):
    one, other = Client(), Client()
    mine, theirs = _csrf(_page(one, url)), _csrf(_page(other, url))
    assert mine and theirs and mine != theirs


@pytest.mark.django_db
def test_it_keeps_one_visitors_progress_off_another_visitors_course_page(course):
    reader, newcomer = Client(), Client()
    _page(newcomer, "/")  # the page of a visitor with no progress is kept first
    reader.post("/lessons/sockets/read/")
    read_page = _page(reader, "/")
    total = re.search(r"Your progress: 1 of (\d+) steps done", read_page)
    assert total, "the reader's step is counted"
    assert "Start the course" not in read_page and "Continue:" in read_page
    new_page = _page(newcomer, "/")
    assert f"Your progress: 0 of {total[1]} steps done" in new_page
    assert "Start the course" in new_page and "Continue:" not in new_page
    assert "Your progress: 1 of" in _page(reader, "/")  # the reader's, kept, again
    other_lesson = Lesson.objects.filter(published=True).exclude(slug="sockets").first()
    reader.post(f"/lessons/{other_lesson.slug}/read/")
    assert "Your progress: 2 of" in _page(reader, "/")  # a new state shows at once


@pytest.mark.django_db
def test_it_keeps_one_visitors_scores_off_another_visitors_quiz_list(quiz):
    taker, newcomer = Client(), Client()
    _page(newcomer, "/quizzes/")
    _take(taker, quiz, wrong={q.key for q in quiz.questions.all()})
    mine = _page(taker, "/quizzes/")
    assert "1 attempt" in mine and "Not yet passed (best 0%)" in mine
    theirs = _page(newcomer, "/quizzes/")
    assert "1 attempt" not in theirs and "Not yet passed" not in theirs
    _take(taker, quiz)
    assert "2 attempts" in _page(taker, "/quizzes/")


@pytest.mark.django_db
def test_it_keeps_a_quiz_page_token_order_and_attempts_each_visitors_own(quiz):
    taker, newcomer = Client(), Client()
    _take(taker, quiz)
    mine, theirs = _page(taker, quiz.get_absolute_url()), _page(newcomer, quiz.get_absolute_url())
    assert "Your attempts" in mine and "Your attempts" not in theirs
    assert page_token(mine) != page_token(theirs)
    assert _csrf(mine) != _csrf(theirs)
    # A reload keeps the order (the learner's own), with a fresh token each time.
    again = _page(taker, quiz.get_absolute_url())
    assert question_order(again) == question_order(mine) and "Your attempts" in again
    assert page_token(again) != page_token(mine)


@pytest.mark.django_db
def test_it_shows_the_questions_of_a_kept_quiz_page_as_the_rendered_page_does(quiz):
    visitor = Client()
    kept = _page(visitor, quiz.get_absolute_url())
    kept = _page(visitor, quiz.get_absolute_url())  # from memory now
    _with_message(visitor, "A message waits, so this page is rendered.")
    rendered = _page(visitor, quiz.get_absolute_url())
    assert "A message waits, so this page is rendered." in rendered
    assert _questions(kept) == _questions(rendered)
    assert "A message waits" not in _page(visitor, quiz.get_absolute_url())  # shown once


@pytest.mark.django_db
def test_it_never_puts_answers_in_a_kept_quiz_page(quiz):
    _page(Client(), quiz.get_absolute_url())
    page = _page(Client(), quiz.get_absolute_url())  # another visitor, from memory
    assert "<!--slot-" not in page  # every slot filled
    assert_no_answer_key(page, quiz)


@pytest.mark.django_db
def test_it_records_the_attempts_of_two_visitors_from_kept_quiz_pages(quiz):
    one, other = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first, second = _take(one, quiz), _take(other, quiz)
    assert first["Location"] != second["Location"]
    assert Attempt.objects.filter(quiz=quiz).count() == 2
    assert one.get(first["Location"]).status_code == 200
    assert other.get(first["Location"]).status_code == 404  # not theirs


@pytest.mark.django_db
def test_it_records_a_kept_quiz_page_once_however_often_it_is_sent(quiz):
    visitor = Client(enforce_csrf_checks=True)
    page = _page(visitor, quiz.get_absolute_url())
    data = submission(page, quiz)
    first = visitor.post(quiz.get_absolute_url(), data)
    again = visitor.post(quiz.get_absolute_url(), data, follow=True)
    assert again.redirect_chain[0][0] == first["Location"]
    assert "That attempt was already submitted" in again.content.decode()
    assert Attempt.objects.filter(quiz=quiz).count() == 1


@pytest.mark.django_db
def test_it_shows_a_message_once_on_a_page_kept_whole(quiz):
    visitor = Client()
    _page(visitor, quiz.get_absolute_url())
    refused = visitor.post(quiz.get_absolute_url(), {"token": "forged"}, follow=True)
    assert "could not be read" in refused.content.decode()
    assert "could not be read" not in _page(visitor, quiz.get_absolute_url())
    assert "could not be read" not in _page(Client(), quiz.get_absolute_url())


@pytest.mark.django_db
def test_it_keeps_drafts_and_the_staff_user_bar_off_the_public_pages(staff_client, quiz):
    visitor = Client()  # the client fixture is the staff member's
    for url in PUBLIC_PAGES:
        _page(visitor, url)
    quiz.published = False
    quiz.save()
    for url in PUBLIC_PAGES:  # staff first, each page twice: nothing of theirs is kept
        _page(staff_client, url)
        staff_page = _page(staff_client, url)
        assert "editor" in staff_page and "Staff admin" in staff_page
        if url in ("/quizzes/", quiz.get_absolute_url()):
            assert "Unpublished" in staff_page
    assert visitor.get(quiz.get_absolute_url()).status_code == 404
    for url in ["/", "/quizzes/", "/glossary/", "/playground/"]:
        page = _page(visitor, url)
        assert "Unpublished" not in page and "Log in" in page
        assert "editor" not in page and "Staff admin" not in page
    assert quiz.get_absolute_url() not in _page(visitor, "/quizzes/")


@pytest.mark.django_db
def test_it_keeps_a_students_pages_personal(student_client, quiz):
    visitor = Client()  # the client fixture is the student's
    _take(student_client, quiz)
    for url in PUBLIC_PAGES:
        mine, theirs = _page(student_client, url), _page(visitor, url)
        assert "student" in mine and "Log out" in mine
        assert "student" not in theirs and "Log out" not in theirs
    assert "Your attempts" not in _page(visitor, quiz.get_absolute_url())
    assert "1 attempt" not in _page(visitor, "/quizzes/")


@pytest.mark.django_db
def test_it_shows_an_edit_on_every_kept_page_at_once(quiz):
    visitor = Client()

    def kept_then_edited(urls, edit, text):
        for url in urls:
            _page(visitor, url)
            _page(visitor, url)  # kept
        edit()
        for url in urls:
            assert text in _page(visitor, url), url

    def quiz_title():
        quiz.title = "A freshly edited quiz title"
        quiz.save()

    def prompt():
        question = quiz.questions.first()
        question.prompt = "A freshly edited prompt?"
        question.save()

    def definition():
        term = GlossaryTerm.objects.order_by("term").first()
        term.definition = "A freshly edited definition."
        term.save()

    def summary():
        lesson = Lesson.objects.get(slug="sockets")
        lesson.summary = "A freshly edited summary."
        lesson.save()

    kept_then_edited(["/quizzes/", quiz.get_absolute_url()], quiz_title, "freshly edited quiz")
    kept_then_edited([quiz.get_absolute_url()], prompt, "A freshly edited prompt?")
    kept_then_edited(["/glossary/"], definition, "A freshly edited definition.")
    kept_then_edited(["/"], summary, "A freshly edited summary.")


@pytest.mark.django_db
def test_it_opens_a_playground_session_from_a_kept_playground_page(course):
    visitor = Client(enforce_csrf_checks=True)
    _page(Client(), "/playground/")
    page = _page(visitor, "/playground/")
    response = visitor.post("/playground/session/", HTTP_X_CSRFTOKEN=_csrf(page))
    assert response.status_code == 204
    assert visitor.session.get("learner")


@pytest.mark.django_db
def test_it_links_a_drafts_glossary_terms_for_staff_only(staff_client, course):
    visitor = Client()  # the client fixture is the staff member's
    assert "/lessons/sockets/" in _page(visitor, "/glossary/")
    lesson = Lesson.objects.get(slug="sockets")
    lesson.published = False
    lesson.save()
    assert "/lessons/sockets/" in _page(staff_client, "/glossary/")
    assert "/lessons/sockets/" not in _page(visitor, "/glossary/")
    assert "/lessons/sockets/" in _page(staff_client, "/glossary/")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/quizzes/", "/glossary/"])
def test_it_sets_no_csrf_cookie_on_a_page_without_a_form(course, url):
    visitor = Client()
    _page(visitor, url)
    response = visitor.get(url)  # kept
    assert "csrftoken" not in response.cookies
