"""A learner's progress snapshot (sockets_site.learner_state): every page showing progress shows
each change at once, for a visitor and for a logged-in user, however the rows changed
(a form, the playground's engine, a log-in, a deletion, a staff tool's QuerySet.update),
and a page with a session asks the database (almost) nothing once the snapshot is kept.

Every form is read out of its page and posted with its CSRF token, as a browser does."""

import re
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import Client
from django.utils import timezone

from labs.hooks import DjangoLabHooks
from labs.models import Experiment
from lessons.models import Attempt, Lesson, LessonRead, Quiz
from review import cards
from review.models import ReviewCard
from tests.support.forms import form_in, post_data, right_answer, submission, without_lab_questions

LESSON = "/lessons/the-5-tuple/"  # two experiments: three-sockets and two-clients
PASSWORD = "correct-horse-battery"
record = async_to_sync(DjangoLabHooks().record)


@pytest.fixture
def quiz(course):
    return without_lab_questions(Quiz.objects.get(slug="sockets-quiz"))


@pytest.fixture(params=["visitor", "user"])
def learner(request, course, django_user_model):
    """A browser, and how to name its learner's rows: a visitor who has read the first
    lesson (so they have a key), or a logged-in user."""
    browser = Client(enforce_csrf_checks=True)
    if request.param == "user":
        user = django_user_model.objects.create_user("ada", password=PASSWORD)
        log_in(browser, "ada")
        return browser, {"user": user}
    mark_read(browser, "/lessons/introduction/")
    return browser, {"user": None, "learner_key": browser.session["learner"]}


def page(browser, url) -> str:
    response = browser.get(url)
    assert response.status_code == 200
    return response.content.decode()


def post_form(browser, url, css_class, **fields):
    action, form = form_in(page(browser, url), f"http://testserver{url}", css_class)
    response = browser.post(action, {**post_data(form), **fields})
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    return response


def log_in(browser, username):
    post_form(browser, "/accounts/login/", "stacked-form", username=username, password=PASSWORD)


def mark_read(browser, lesson_url):
    """The end-of-lesson button's form (the page's first inline form is the log-out one)."""
    html = page(browser, lesson_url)
    form = re.search(rf'<form[^>]*action="{lesson_url}read/"[^>]*>(.*?)</form>', html, re.S)
    response = browser.post(f"{lesson_url}read/", post_data(form.group(1)))
    assert response.status_code == 302


def take(browser, quiz, wrong=frozenset()):
    url = quiz.get_absolute_url()
    html = page(browser, url)
    action, _ = form_in(html, f"http://testserver{url}", "quiz-form")
    response = browser.post(action, submission(html, quiz, wrong))
    assert response.status_code == 302, response.content.decode()[:2000]


def lesson_status(course_page: str, slug: str) -> str:
    return course_page.split(f'href="/lessons/{slug}/"', 1)[1].split("</li>", 1)[0]


def quiz_status(quiz_list: str, slug: str) -> str:
    return quiz_list.split(f'href="/quizzes/{slug}/"', 1)[1].split("</li>", 1)[0]


def read_on_course_page(browser, slug) -> bool:
    status = lesson_status(page(browser, "/"), slug)
    return bool(re.search(r'class="status[^"]*">(Read|Done)<', status))


def is_read(browser, slug) -> bool:
    """Read, said alike by the course page and the lesson's own page."""
    read = read_on_course_page(browser, slug)
    assert read == ("You have read this lesson." in page(browser, f"/lessons/{slug}/"))
    return read


def reviews_due(browser) -> int:
    found = re.search(r'href="/review/">(\d+) reviews? due', page(browser, "/"))
    return int(found.group(1)) if found else 0


@pytest.mark.django_db
def test_it_shows_a_lesson_marked_read_at_once(learner):
    browser, _ = learner
    assert not is_read(browser, "sockets")  # the snapshot is kept now
    mark_read(browser, "/lessons/sockets/")
    assert is_read(browser, "sockets")


@pytest.mark.django_db
def test_it_shows_a_submitted_quiz_attempt_at_once(learner, quiz):
    browser, _ = learner
    assert "Not taken" in quiz_status(page(browser, "/quizzes/"), quiz.slug)
    take(browser, quiz, wrong={q.key for q in quiz.questions.all()})
    assert "Not yet passed" in quiz_status(page(browser, "/quizzes/"), quiz.slug)
    take(browser, quiz)
    assert "Passed" in quiz_status(page(browser, "/quizzes/"), quiz.slug)
    assert "2 attempts" in quiz_status(page(browser, "/quizzes/"), quiz.slug)


@pytest.mark.django_db(transaction=True)  # the engine's hooks commit, as in the playground
def test_it_shows_a_finished_lab_at_once(learner):
    browser, rows = learner
    owner = {"user": rows["user"].pk} if rows["user"] else {"learner": rows["learner_key"]}
    assert "Lab: 0 of 2 experiments finished" in lesson_status(page(browser, "/"), "the-5-tuple")
    assert "Lab: 0 of 2 experiments finished." in page(browser, LESSON)
    steps = Experiment.objects.get(slug="three-sockets").steps.count()
    record(owner, "three-sockets", steps, steps, True)
    assert "Lab: 1 of 2 experiments finished" in lesson_status(page(browser, "/"), "the-5-tuple")
    assert "Lab: 1 of 2 experiments finished." in page(browser, LESSON)


@pytest.mark.django_db
def test_it_shows_a_review_answered_on_the_review_page_at_once(learner, quiz):
    browser, rows = learner
    question = quiz.questions.exclude(kind="lab").first()
    ReviewCard.objects.all().delete()
    assert reviews_due(browser) == 0  # the snapshot is kept now
    cards.record(_learner(rows), "question", str(question.pk), False, timezone.now() - HOUR)
    assert reviews_due(browser) == 1
    answer = {f"q{question.pk}": right_answer(question)}
    assert "Right" in post_form(browser, "/review/", "review-form", **answer).content.decode()
    assert reviews_due(browser) == 0


@pytest.mark.django_db
def test_it_shows_a_warm_up_answered_at_once(learner, course):
    browser, rows = learner
    # The warm-up of "Connections" asks about the introduction's quiz.
    # Its last question, not asked until it falls due (the warm-up asks the first ones).
    due_one = Quiz.objects.get(slug="introduction-quiz").questions.exclude(kind="lab").last()
    assert reviews_due(browser) == 0  # the snapshot is kept now
    assert f'name="question" value="{due_one.pk}"' not in page(browser, "/lessons/connections/")
    cards.record(_learner(rows), "question", str(due_one.pk), False, timezone.now() - HOUR)
    assert reviews_due(browser) == 1
    html = page(browser, "/lessons/connections/")
    action, form = form_in(html, "http://testserver/lessons/connections/", "warm-up-form")
    asked = re.findall(r'name="question" value="(\d+)"', form)
    assert asked[0] == str(due_one.pk)  # the due one first
    answers = {f"q{due_one.pk}": right_answer(due_one)}
    assert browser.post(action, {**post_data(form), **answers}).status_code == 302
    assert reviews_due(browser) == 0


@pytest.mark.django_db
def test_it_shows_a_visitors_progress_on_the_account_at_once_after_logging_in(
    course, django_user_model
):
    django_user_model.objects.create_user("ada", password=PASSWORD)
    account = Client(enforce_csrf_checks=True)
    log_in(account, "ada")
    assert not is_read(account, "sockets")  # the account's snapshot is kept
    visitor = Client(enforce_csrf_checks=True)
    mark_read(visitor, "/lessons/sockets/")
    assert is_read(visitor, "sockets")
    log_in(visitor, "ada")
    assert is_read(visitor, "sockets")
    assert is_read(account, "sockets")


@pytest.mark.django_db
def test_it_shows_deleted_progress_at_once(learner):
    browser, _ = learner
    mark_read(browser, "/lessons/sockets/")
    assert is_read(browser, "sockets")
    post_form(browser, "/accounts/progress/delete/", "stacked-form")
    assert not is_read(browser, "sockets")


HOUR = timedelta(hours=1)


def _learner(rows):
    from sockets_site.learners import Learner

    return Learner(rows["user"], rows.get("learner_key", ""))


@pytest.mark.django_db
def test_it_shows_rows_changed_by_a_queryset_update_at_once(learner, quiz):
    browser, rows = learner
    take(browser, quiz, wrong={q.key for q in quiz.questions.all()})
    assert "Not yet passed" in quiz_status(page(browser, "/quizzes/"), quiz.slug)
    Attempt.objects.filter(**rows).update(percent=100)  # a staff tool's regrade, say
    assert "Passed" in quiz_status(page(browser, "/quizzes/"), quiz.slug)

    assert reviews_due(browser) == 0  # the failed attempt's cards are due later
    ReviewCard.objects.filter(**rows).update(due=timezone.now() - HOUR)
    assert reviews_due(browser) == ReviewCard.objects.filter(**rows).count() > 0

    mark_read(browser, "/lessons/connections/")
    assert read_on_course_page(browser, "connections")
    moved = Lesson.objects.get(slug="the-5-tuple")
    LessonRead.objects.filter(**rows, lesson__slug="connections").update(lesson=moved)
    assert not read_on_course_page(browser, "connections")
    assert read_on_course_page(browser, "the-5-tuple")


@pytest.mark.django_db
def test_it_shows_a_row_given_to_another_learner_by_a_save_at_once(course, django_user_model):
    ada = django_user_model.objects.create_user("ada", password=PASSWORD)
    django_user_model.objects.create_user("bob", password=PASSWORD)
    browsers = {}
    for name in ("ada", "bob"):
        browsers[name] = Client(enforce_csrf_checks=True)
        log_in(browsers[name], name)
    mark_read(browsers["ada"], "/lessons/sockets/")
    assert is_read(browsers["ada"], "sockets") and not is_read(browsers["bob"], "sockets")
    row = LessonRead.objects.get(user=ada)
    row.user = django_user_model.objects.get(username="bob")
    row.save()  # a whole-row save, as a staff form makes it: both learners change
    assert not is_read(browsers["ada"], "sockets")
    assert is_read(browsers["bob"], "sockets")


@pytest.mark.django_db
def test_it_reads_progress_from_the_database_where_the_cache_is_not_shared(learner, settings):
    settings.PROGRESS_SNAPSHOTS = False  # several processes, each its own local memory
    browser, rows = learner
    assert not is_read(browser, "sockets")
    # Another process's write, which this process's cache hears nothing of:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO lessons_lessonread (user_id, learner_key, lesson_id, read_at)"
            " VALUES (%s, %s, %s, %s)",
            [
                rows["user"].pk if rows["user"] else None,
                rows.get("learner_key", ""),
                Lesson.objects.get(slug="sockets").pk,
                timezone.now(),
            ],
        )
    assert read_on_course_page(browser, "sockets")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/lessons/sockets/", "/quizzes/", "/"])
def test_it_asks_the_database_nothing_more_for_a_pages_progress_once_kept(
    learner, url, django_assert_max_num_queries
):
    browser, rows = learner
    mark_read(browser, "/lessons/sockets/")
    page(browser, url)
    page(browser, url)
    # Without Redis (the tests) sessions live in the database: the session's row, and a
    # logged-in reader's user (Django's authentication). A logged-in reader's lesson page
    # is rendered, not kept whole: its warm-up questions and glossary are read then.
    most = 1 if rows["user"] is None else 2 if url != "/lessons/sockets/" else 5
    with django_assert_max_num_queries(most) as queries:
        page(browser, url)
    sqls = [q["sql"] for q in queries.captured_queries]
    assert not any(table in sql for sql in sqls for table in PROGRESS_TABLES), sqls


PROGRESS_TABLES = ("lessons_lessonread", "lessons_attempt", "lessons_labrun", "review_reviewcard")


@pytest.fixture
def cuttable_redis(settings):
    """The site's Redis cache behind a relay the test can cut: a blip, not a restart, so
    what Redis held before is still there when it answers again."""
    from tests.support.redis_service import RedisServer
    from tests.support.tcp_cut import Relay

    server = RedisServer().start()
    relay = Relay(server.port)
    settings.CACHES = {
        "default": {
            "BACKEND": "sockets_site.cache.TolerantRedisCache",
            "LOCATION": f"redis://127.0.0.1:{relay.port}/0",
        }
    }
    try:
        yield relay
    finally:
        relay.close()
        server.stop()


@pytest.mark.django_db
def test_it_keeps_a_progress_write_made_while_redis_is_away_and_shows_it_after(
    course, cuttable_redis
):
    browser = Client(enforce_csrf_checks=True)
    mark_read(browser, "/lessons/introduction/")
    assert not read_on_course_page(browser, "sockets")  # a snapshot is kept in Redis now
    cuttable_redis.cut()
    mark_read(browser, "/lessons/sockets/")  # its bump cannot reach Redis
    assert LessonRead.objects.filter(lesson__slug="sockets").exists()  # recorded all the same
    assert read_on_course_page(browser, "sockets")  # read from the database meanwhile
    cuttable_redis.restore()
    # The snapshot from before the write is still in Redis, under the version it had.
    # The process that lost the bump replaces the epoch as soon as Redis answers, without
    # waiting for a request of its own: another process's next page is right too.
    from sockets_site import learner_state

    learner_state._settler[0].join(30)
    assert learner_state._state["lost"] == learner_state._state["settled"]
    assert read_on_course_page(browser, "sockets")
    assert is_read(browser, "sockets")
