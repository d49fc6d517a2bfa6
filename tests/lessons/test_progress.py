import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from labs.hooks import record
from labs.models import Experiment
from lessons.models import Attempt, Choice, Lesson, LessonRead, Question, Quiz
from tests.support.forms import submission, without_lab_questions


def take(client, quiz, wrong=frozenset()):
    page = client.get(quiz.get_absolute_url()).content.decode()
    return client.post(quiz.get_absolute_url(), submission(page, quiz, wrong))


@pytest.mark.django_db
def test_it_marks_a_lesson_read_from_the_button_at_its_end(client, course):
    response = client.post("/lessons/ports/read/", {"next": "/quizzes/ports-quiz/"})
    assert response["Location"] == "/quizzes/ports-quiz/"
    assert LessonRead.objects.filter(lesson__slug="ports").count() == 1
    page = client.get("/lessons/ports/").content.decode()
    assert "You have read this lesson." in page


@pytest.mark.django_db
def test_it_marks_a_lesson_read_from_the_page_script_once(client, course):
    for _ in range(2):
        response = client.post("/lessons/ports/read/", HTTP_ACCEPT="application/json")
        assert response.json() == {"read": True}
    assert LessonRead.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_to_redirect_a_read_mark_off_site(client, course):
    response = client.post("/lessons/ports/read/", {"next": "https://evil.example/"})
    assert response["Location"] == "/lessons/ports/"


@pytest.mark.django_db
def test_it_counts_a_lesson_read_when_its_quiz_is_passed(client, course):
    take(client, Quiz.objects.get(slug="ports-quiz"))
    assert LessonRead.objects.filter(lesson__slug="ports").exists()
    sockets_quiz = Quiz.objects.get(slug="sockets-quiz")
    take(client, sockets_quiz, wrong=set(sockets_quiz.questions.values_list("key", flat=True)))
    assert not LessonRead.objects.filter(lesson__slug="sockets").exists()  # failed: not read


@pytest.mark.django_db
def test_it_shows_progress_and_continues_with_the_next_thing_to_do(client, course):
    page = client.get("/").content.decode()
    assert "Start the course" in page
    steps = 11 + Experiment.objects.filter(published=True).count()  # lessons, quizzes, labs
    assert re.search(rf'<progress [^>]*max="{steps}" value="0"', page)

    client.post("/lessons/introduction/read/")
    page = client.get("/").content.decode()
    title = Quiz.objects.get(slug="introduction-quiz").title
    assert f"Continue: Take “{title}”" in page
    assert 'href="/quizzes/introduction-quiz/">Continue' in page
    assert re.search(rf'<progress [^>]*max="{steps}" value="1"', page)

    take(client, Quiz.objects.get(slug="introduction-quiz"))
    page = client.get("/").content.decode()
    assert 'href="/lessons/connections/">Continue: Read “Connections”' in page
    card = page.split('href="/lessons/introduction/"', 1)[1].split("</li>", 1)[0]
    assert ">Done</span>" in card and "Quiz: Passed (best 100%)" in card

    client.post("/lessons/connections/read/")
    experiment = Experiment.objects.get(slug="udp-no-connection")
    page = client.get("/").content.decode()
    assert (
        f'href="/playground/?experiment={experiment.slug}">Continue: Try “{experiment.title}”'
        in (page)
    )


def finish_every_experiment(client):
    """As the playground's engine records them for this browser's visitor (labs.hooks)."""
    owner = {"learner": client.session["learner"]}
    for experiment in Experiment.objects.filter(published=True):
        steps = experiment.steps.count()
        record(owner, experiment.slug, steps, steps, finished=True)


@pytest.mark.django_db
def test_it_says_when_the_course_is_finished(client, course):
    for quiz in Quiz.objects.all():
        take(client, quiz)  # passed, with the lab questions wrong (no sandbox here)
    page = client.get("/").content.decode()
    assert "You have finished the course." not in page  # the experiments are still to do
    finish_every_experiment(client)
    page = client.get("/").content.decode()
    assert "You have finished the course." in page
    steps = 11 + Experiment.objects.filter(published=True).count()
    assert re.search(rf'<progress [^>]*max="{steps}" value="{steps}"', page)


@pytest.mark.django_db
def test_it_moves_a_visitors_progress_to_their_account_on_login(client, course, django_user_model):
    user = django_user_model.objects.create_user("ada", password="correct-horse-battery")
    # The account already read "ports" and made an attempt at its quiz.
    LessonRead.objects.create(user=user, lesson=Lesson.objects.get(slug="ports"))
    ports_quiz = Quiz.objects.get(slug="ports-quiz")
    Attempt.objects.create(user=user, quiz=ports_quiz, number=1, percent=0)

    client.post("/lessons/ports/read/")
    client.post("/lessons/sockets/read/")
    take(client, Quiz.objects.get(slug="sockets-quiz"))
    take(client, ports_quiz)  # the visitor's attempt comes after the account's own

    response = client.post(
        "/accounts/login/", {"username": "ada", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    reads = LessonRead.objects.filter(user=user)
    assert sorted(reads.values_list("lesson__slug", flat=True)) == ["ports", "sockets"]
    assert Attempt.objects.filter(user=user, quiz__slug="sockets-quiz").count() == 1
    numbers = Attempt.objects.filter(user=user, quiz=ports_quiz).values_list("number", flat=True)
    assert sorted(numbers) == [1, 2]
    assert not LessonRead.objects.filter(user=None).exists()
    assert not Attempt.objects.filter(user=None).exists()

    # Logging out and in again moves nothing twice.
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "ada", "password": "correct-horse-battery"})
    assert LessonRead.objects.filter(user=user).count() == 2


@pytest.mark.django_db
def test_it_moves_a_visitors_progress_to_a_new_account_on_sign_up(client, course):
    client.post("/lessons/introduction/read/")
    take(client, Quiz.objects.get(slug="introduction-quiz"))
    response = client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "password1": "a-very-long-passphrase",
            "password2": "a-very-long-passphrase",
        },
    )
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert "grace" in page
    assert re.search(r'<progress [^>]*value="2"', page)
    assert LessonRead.objects.get().user.username == "grace"


@pytest.mark.django_db
def test_it_keeps_one_visitors_progress_apart_from_anothers(client, course):
    client.post("/lessons/introduction/read/")
    stranger = Client()
    assert re.search(r'<progress [^>]*value="0"', stranger.get("/").content.decode())


def _grow_course(lessons: int, questions: int):
    for n in range(lessons):
        lesson = Lesson.objects.create(
            title=f"Extra {n}",
            slug=f"extra-{n}",
            order=100 + n,
            summary="s",
            body="## A\n\nb",
            published=True,
        )
        quiz = Quiz.objects.create(
            title=f"Quiz {n}", slug=f"extra-quiz-{n}", lesson=lesson, published=True, order=100 + n
        )
        for k in range(questions):
            q = Question.objects.create(
                quiz=quiz,
                key=f"k{k}",
                kind="single",
                prompt="p",
                explanation="e",
                lesson=lesson,
                anchor="a",
            )
            Choice.objects.create(question=q, text="yes", is_correct=True)
            Choice.objects.create(question=q, text="no")


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_it_runs_the_same_number_of_queries_on_the_course_page_for_any_course_size(
    student_client, course
):
    take(student_client, Quiz.objects.get(slug="ports-quiz"))
    student_client.post("/lessons/ports/read/")
    small = _queries(student_client, "/")
    _grow_course(lessons=10, questions=3)
    for quiz in Quiz.objects.filter(slug__startswith="extra-quiz-")[:3]:
        take(student_client, quiz)
    assert _queries(student_client, "/") == small
    assert _queries(student_client, "/quizzes/") <= small


@pytest.mark.django_db
def test_it_runs_the_same_number_of_queries_on_a_quiz_page_for_any_quiz_size(student_client, db):
    _grow_course(lessons=2, questions=4)
    small_quiz, big_quiz = Quiz.objects.filter(slug__startswith="extra-quiz-")
    for k in range(4, 40):
        q = Question.objects.create(
            quiz=big_quiz, key=f"k{k}", kind="multiple", prompt="p", explanation="e"
        )
        Choice.objects.create(question=q, text="yes", is_correct=True)
        Choice.objects.create(question=q, text="no")
    assert _queries(student_client, small_quiz.get_absolute_url()) == _queries(
        student_client, big_quiz.get_absolute_url()
    )
    for quiz in (small_quiz, big_quiz):
        take(student_client, quiz)
    small = Attempt.objects.filter(quiz=small_quiz).last()
    big = Attempt.objects.filter(quiz=big_quiz).last()
    assert _queries(student_client, f"/quizzes/{small_quiz.slug}/attempts/{small.pk}/") == _queries(
        student_client, f"/quizzes/{big_quiz.slug}/attempts/{big.pk}/"
    )


def login(client, username, password):
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302


@pytest.mark.django_db
def test_it_keeps_visitor_attempts_beyond_the_accounts_limit_as_practice(
    client, course, django_user_model
):
    """Logging out cannot buy attempts: a 2-attempt quiz stays at 2 counted attempts."""
    django_user_model.objects.create_user("ada", password="correct-horse-battery")
    quiz = without_lab_questions(Quiz.objects.get(slug="ports-quiz"))
    Quiz.objects.filter(pk=quiz.pk).update(max_attempts=2)
    everything = {q.key for q in quiz.questions.all()}
    login(client, "ada", "correct-horse-battery")
    take(client, quiz, everything)
    take(client, quiz, everything)
    assert "You have used all 2 attempts" in client.get(quiz.get_absolute_url()).content.decode()

    client.post("/accounts/logout/")
    response = take(client, quiz)  # perfect, as a visitor
    assert "You scored 100%" in client.get(response["Location"]).content.decode()
    login(client, "ada", "correct-horse-battery")

    listing = client.get("/quizzes/").content.decode()
    assert "Not yet passed (best 0%)" in listing
    page = client.get(quiz.get_absolute_url()).content.decode()
    assert "You have used all 2 attempts" in page
    assert "Your score is 0%" in page
    assert page.count("(practice, not counted)") == 1
    practice = Attempt.objects.get(number=None)
    assert practice.percent == 100.0
    result = client.get(practice.get_absolute_url()).content.decode()
    assert "This was a practice attempt" in result


@pytest.mark.django_db
def test_it_shows_no_lesson_read_after_a_visitor_deletes_their_progress(client, course):
    """The session's copy of a visitor's reads goes with the key they were read under."""
    client.post("/lessons/ports/read/")
    assert "You have read this lesson." in client.get("/lessons/ports/").content.decode()
    client.post("/accounts/progress/delete/")
    client.post("/lessons/sockets/read/")  # a new key, which has read only this one
    assert "You have read this lesson." in client.get("/lessons/sockets/").content.decode()
    assert "You have read this lesson." not in client.get("/lessons/ports/").content.decode()
