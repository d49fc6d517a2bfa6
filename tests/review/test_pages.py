"""The Review page, the due count on the course page and the lesson warm-up, used the way
a browser uses them: each form read out of its page (action and field names) and posted."""

import re
import secrets
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from labs.models import ExperimentStep
from lessons.models import Question, Quiz
from review import cards, warm_up
from review.models import ReviewCard
from sockets_site.learners import Learner
from tests.support.forms import (
    form_in,
    post_data,
    right_answer,
    submission,
    without_lab_questions,
    wrong_answer,
)

HOUR_AGO = timedelta(hours=1)
# The warm-up of "Connections" (lesson 2) asks about "What is a socket, anyway?" (lesson 1).
LESSON = "/lessons/connections/"
PREVIOUS_QUIZ = "introduction-quiz"


@pytest.fixture
def quiz(course):
    return without_lab_questions(Quiz.objects.get(slug="sockets-quiz"))


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user("ada", password="correct-horse-battery")


@pytest.fixture
def ada_client(client, ada):
    client.force_login(ada)
    return client


def missed_an_hour_ago(learner, questions):
    for question in questions:
        cards.record(learner, "question", str(question.pk), False, now=timezone.now() - HOUR_AGO)


def took_quiz(client, quiz, times=1, passing=False):
    """Submit the quiz `times` through its page, every answer wrong unless `passing`; the
    cards it queues are dropped, so a test's own cards are the queue."""
    for _ in range(times):
        page = client.get(quiz.get_absolute_url()).content.decode()
        wrong = set() if passing else {q.key for q in quiz.questions.all()}
        response = client.post(quiz.get_absolute_url(), submission(page, quiz, wrong))
        assert response.status_code == 302
    ReviewCard.objects.all().delete()


def asked_question(page: str) -> Question:
    return Question.objects.get(pk=re.search(r'name="q(\d+)"', page).group(1))


def answering(form_html: str, answers: dict[Question, list[str]]) -> dict:
    data = post_data(form_html)
    for question, values in answers.items():
        data[f"q{question.pk}"] = values
    return data


def assert_no_answer_in(page: str, question: Question):
    assert escape(question.explanation) not in page
    for choice in question.choices.all():
        if choice.feedback:
            assert escape(choice.feedback) not in page
    for accepted in question.accepted:
        assert f">{escape(accepted)}<" not in page and f'"{escape(accepted)}"' not in page
    if question.kind in ("number", "text"):  # the answer box comes empty
        box = re.search(rf'<input[^>]*name="q{question.pk}"[^>]*>', page).group(0)
        assert "value=" not in box
    markup = r'data-[\w-]*correct|is[_-]correct|class="[^"]*(correct|explanation|feedback)'
    assert not re.search(markup, page, re.I)


@pytest.mark.django_db
def test_it_asks_each_due_question_with_no_answer_in_the_page_and_grades_the_form(
    ada_client, ada, quiz
):
    questions = list(quiz.questions.prefetch_related("choices"))
    took_quiz(ada_client, quiz, times=2)  # the quiz's key may be asked for: shown here
    missed_an_hour_ago(Learner(ada), questions)
    seen = []
    for left in range(len(questions), 0, -1):
        page = ada_client.get("/review/").content.decode()
        assert f"{left} review{'s' if left > 1 else ''} due now" in page
        question = asked_question(page)
        assert_no_answer_in(page, question)
        action, form = form_in(page, "/review/", "review-form")
        assert action.endswith("/review/")
        assert f'<legend><span class="question-number">{escape(quiz.title)}' in page
        response = ada_client.post(action, answering(form, {question: right_answer(question)}))
        result = response.content.decode()
        assert response.status_code == 200
        assert re.search(r'<h2 id="result-heading" tabindex="-1" autofocus>Right</h2>', result)
        assert escape(question.explanation) in result
        assert "Well remembered: back in 1\xa0day" in result
        seen.append(question.pk)
    assert sorted(seen) == sorted(q.pk for q in questions)
    page = ada_client.get("/review/").content.decode()
    assert "Nothing to review now" in page and "Next review" in page


@pytest.mark.django_db
def test_it_brings_a_question_answered_wrong_back_in_ten_minutes(ada_client, ada, quiz):
    question = quiz.questions.filter(kind="single").first()
    took_quiz(ada_client, quiz, passing=True)
    missed_an_hour_ago(Learner(ada), [question])
    page = ada_client.get("/review/").content.decode()
    action, form = form_in(page, "/review/", "review-form")
    result = ada_client.post(action, answering(form, {question: wrong_answer(question)}))
    text = result.content.decode()
    assert ">Not right</h2>" in text
    assert "It comes back for review in 10\xa0minutes" in text
    assert escape(question.explanation) in text
    assert "Nothing more is due now." in text
    card = ReviewCard.objects.get(user=ada)
    assert (card.reviews, card.misses) == (2, 2)
    assert timezone.now() < card.due < timezone.now() + timedelta(minutes=11)


@pytest.mark.django_db
def test_it_records_a_review_page_posted_twice_once(ada_client, ada, quiz):
    question = quiz.questions.first()
    missed_an_hour_ago(Learner(ada), [question])
    page = ada_client.get("/review/").content.decode()
    action, form = form_in(page, "/review/", "review-form")
    data = answering(form, {question: right_answer(question)})
    ada_client.post(action, data)
    again = ada_client.post(action, data, follow=True).content.decode()
    assert "That answer was already recorded." in again
    assert ReviewCard.objects.get(user=ada).reviews == 2


@pytest.mark.django_db
def test_it_records_nothing_for_an_answer_it_cannot_grade_and_asks_again(ada_client, ada, quiz):
    question = quiz.questions.filter(kind="single").first()
    missed_an_hour_ago(Learner(ada), [question])
    page = ada_client.get("/review/").content.decode()
    action, form = form_in(page, "/review/", "review-form")
    response = ada_client.post(action, answering(form, {question: ["not-a-choice"]}))
    text = response.content.decode()
    assert response.status_code == 200 and 'class="field-error"' in text
    assert 'class="quiz-form review-form"' in text
    assert_no_answer_in(text, question)
    assert ReviewCard.objects.get(user=ada).reviews == 1


@pytest.mark.django_db
def test_it_ties_a_typed_answers_error_to_its_box_for_screen_readers(ada_client, ada, quiz):
    question = quiz.questions.filter(kind="number").first()
    missed_an_hour_ago(Learner(ada), [question])
    page = ada_client.get("/review/").content.decode()
    action, form = form_in(page, "/review/", "review-form")
    text = ada_client.post(action, answering(form, {question: ["two or three"]})).content.decode()
    box = re.search(rf'<input[^>]*name="q{question.pk}"[^>]*>', text).group(0)
    described = re.search(r'aria-describedby="([^"]+)"', box).group(1)
    error = re.search(rf'<p class="field-error" id="{described}">([^<]+)</p>', text)
    assert error and "gives more than one" in error.group(1)


@pytest.mark.django_db
def test_it_records_nothing_and_reveals_nothing_for_a_review_posted_blank(ada_client, ada, quiz):
    question = quiz.questions.filter(kind="single").first()
    missed_an_hour_ago(Learner(ada), [question])
    due = ReviewCard.objects.get(user=ada).due
    page = ada_client.get("/review/").content.decode()
    action, form = form_in(page, "/review/", "review-form")
    text = ada_client.post(action, answering(form, {question: []})).content.decode()
    assert "Choose or type an answer to check it; nothing was recorded." in text
    assert 'class="quiz-form review-form"' in text
    assert_no_answer_in(text, question)
    card = ReviewCard.objects.get(user=ada)
    assert (card.reviews, card.misses, card.due) == (1, 1, due)


@pytest.mark.django_db
def test_it_shows_a_long_number_answer_back_in_full_as_the_quiz_does(ada_client, ada, quiz):
    question = quiz.questions.filter(kind="number").first()
    missed_an_hour_ago(Learner(ada), [question])
    page = ada_client.get("/review/").content.decode()
    action, form = form_in(page, "/review/", "review-form")
    text = ada_client.post(action, answering(form, {question: ["1310720"]})).content.decode()
    assert "Your answer: <strong>1310720</strong>" in text


@pytest.mark.django_db
def test_it_asks_a_missed_prediction_again_with_its_step_and_choices(ada_client, ada, course):
    step = ExperimentStep.objects.exclude(prediction={}).select_related("experiment").first()
    number = list(step.experiment.steps.all()).index(step) + 1
    ref = f"{step.experiment.slug}/{number}"
    cards.record(Learner(ada), "prediction", ref, False, now=timezone.now() - HOUR_AGO)
    page = ada_client.get("/review/").content.decode()
    assert escape(step.prediction["prompt"]) in page and escape(step.text) in page
    for choice in step.prediction["choices"]:
        assert escape(choice) in page
    assert escape(step.explain) not in page and "correct" not in page
    action, form = form_in(page, "/review/", "review-form")
    data = post_data(form)
    data["prediction"] = str(step.prediction["answer"])
    result = ada_client.post(action, data).content.decode()
    assert ">Right</h2>" in result and escape(step.explain) in result
    assert ReviewCard.objects.get(user=ada, kind="prediction", ref=ref).reviews == 2


@pytest.mark.django_db
def test_it_invites_to_a_quiz_when_the_queue_is_empty(client, course):
    page = client.get("/review/").content.decode()
    assert "Nothing to review now" in page
    assert 'href="/quizzes/"' in page
    assert 'href="/review/" aria-current="page">Review</a>' in page


@pytest.mark.django_db
def test_it_shows_the_number_of_reviews_due_on_the_course_page(ada_client, ada, quiz):
    assert "due" not in ada_client.get("/").content.decode().split("Lessons</h2>")[0]
    questions = list(quiz.questions.all()[:3])
    missed_an_hour_ago(Learner(ada), questions)
    cards.record(Learner(ada), "question", str(questions[0].pk + 10_000), False)  # not due
    page = ada_client.get("/").content.decode()
    assert re.search(r'href="/review/">3 reviews due', page)


def warm_up_form(client, url=LESSON) -> tuple[str, str, list[Question]]:
    page = client.get(url).content.decode()
    action, form = form_in(page, f"http://testserver{url}", "warm-up-form")
    ids = re.findall(r'name="question" value="(\d+)"', form)
    asked = [Question.objects.get(pk=i) for i in ids]
    return action, form, asked


@pytest.mark.django_db
def test_it_opens_a_lesson_with_questions_on_the_previous_one_graded_and_recorded(course):
    client = Client()
    assert 'class="warm-up-form' not in client.get("/lessons/introduction/").content.decode()
    action, form, asked = warm_up_form(client)
    previous = list(Quiz.objects.get(slug=PREVIOUS_QUIZ).questions.exclude(kind="lab"))
    assert asked == previous[: warm_up.SIZE] and len(asked) >= 2
    for question in asked:
        assert_no_answer_in(form, question)
    missed, *right = asked
    answers = {missed: wrong_answer(missed), **{q: right_answer(q) for q in right}}
    response = client.post(action, answering(form, answers))
    assert response.status_code == 302 and response["Location"] == LESSON

    page = client.get(response["Location"]).content.decode()
    assert "Warm-up: your answers" in page
    assert page.count("✓ Right") == len(right) and page.count("✗ Not right") == 1
    assert "It comes back for review in 10\xa0minutes" in page
    key = client.session["learner"]
    assert [c.ref for c in ReviewCard.objects.filter(learner_key=key)] == [str(missed.pk)]
    # Shown once: the lesson then says the warm-up was answered.
    again = client.get(LESSON).content.decode()
    assert "Warm-up: your answers" not in again
    assert "You answered this lesson's warm-up." in again


def warm_up_result(client, answers) -> str:
    """The lesson page after answering its warm-up: `answers(question)` for each asked."""
    action, form, asked = warm_up_form(client)
    response = client.post(action, answering(form, {q: answers(q) for q in asked}))
    return client.get(response["Location"]).content.decode()


def assert_key_withheld(page: str, question: Question):
    assert escape(question.explanation) not in page
    assert "correct answer" not in page and "The answer:" not in page
    for accepted in question.accepted:
        assert escape(accepted) not in page


POLICY = "The answers are shown once you pass, or after two attempts if you ask."


@pytest.mark.django_db
def test_it_keeps_the_answer_key_from_a_warm_up_that_is_a_first_try(course):
    client = Client()  # never took the previous lesson's quiz
    page = warm_up_result(client, wrong_answer)
    _, _, asked = warm_up_form(Client())
    assert page.count("✗ Not right") == len(asked)
    for question in asked:
        assert_key_withheld(page, question)
    assert page.count(POLICY) == len(asked)


@pytest.mark.django_db
def test_it_keeps_the_answer_key_from_the_warm_up_and_review_after_one_failed_attempt(course):
    client = Client()
    quiz = Quiz.objects.get(slug=PREVIOUS_QUIZ)
    took_quiz(client, quiz)
    _, _, asked = warm_up_form(client)
    page = warm_up_result(client, wrong_answer)
    assert page.count("✗ Not right") == len(asked)
    for question in asked:
        assert_key_withheld(page, question)
    assert page.count(POLICY) == len(asked)
    # Ten minutes later the missed questions are due for review: still no key.
    ReviewCard.objects.update(due=timezone.now() - HOUR_AGO)
    review = client.get("/review/").content.decode()
    question = asked_question(review)
    action, form = form_in(review, "/review/", "review-form")
    result = client.post(action, answering(form, {question: wrong_answer(question)}))
    text = result.content.decode()
    assert ">Not right</h2>" in text
    assert_key_withheld(text, question)
    assert POLICY in text


@pytest.mark.django_db
@pytest.mark.parametrize("passing, times", [(True, 1), (False, 2)], ids=["passed", "twice"])
def test_it_shows_the_answer_key_in_a_warm_up_after_a_pass_or_two_attempts(course, passing, times):
    client = Client()
    quiz = Quiz.objects.get(slug=PREVIOUS_QUIZ)
    took_quiz(client, quiz, times, passing)
    _, _, asked = warm_up_form(client)
    page = warm_up_result(client, wrong_answer)
    assert page.count("✗ Not right") == len(asked)
    for question in asked:
        assert escape(question.explanation) in page
    assert "correct answer" in page or "The answer:" in page
    assert "comes back for review in 10" in page
    assert POLICY not in page


@pytest.mark.django_db
def test_it_asks_the_learners_due_questions_of_the_previous_lesson_first(ada_client, ada, course):
    previous = list(Quiz.objects.get(slug=PREVIOUS_QUIZ).questions.exclude(kind="lab"))
    last = previous[-1]
    missed_an_hour_ago(Learner(ada), [last])
    _, _, asked = warm_up_form(ada_client)
    assert asked[0] == last
    assert asked[1:] == [q for q in previous if q != last][: warm_up.SIZE - 1]


@pytest.mark.django_db
def test_it_keeps_one_visitors_warm_up_out_of_anothers_cached_page(course):
    first, other = Client(), Client()
    action, form, asked = warm_up_form(first)
    first.post(action, answering(form, {q: wrong_answer(q) for q in asked}))
    result = first.get(LESSON).content.decode()
    assert "Warm-up: your answers" in result and "✗ Not right" in result
    # The other visitor gets the page from the cache: the plain form, no one's result.
    page = other.get(LESSON).content.decode()
    assert "✗ Not right" not in page and "Warm-up: your answers" not in page
    assert 'class="quiz-form warm-up-form"' in page
    assert "You answered" not in page
    # And the first visitor's due question, asked first to them, is not asked first to others.
    key = first.session["learner"]
    last = asked[-1]
    ReviewCard.objects.filter(learner_key=key).delete()
    missed_an_hour_ago(Learner(None, key), [last])
    _, _, theirs = warm_up_form(first)
    _, _, others = warm_up_form(other)
    assert theirs[0] == last and others == asked


@pytest.mark.django_db
def test_it_shows_a_warm_up_it_cannot_grade_again_with_what_was_chosen(course):
    client = Client()
    action, form, asked = warm_up_form(client)
    choice = next(q for q in asked if q.kind == "single")
    other = next(q for q in asked if q != choice and q.kind in ("single", "true_false"))
    kept = right_answer(other)
    response = client.post(action, answering(form, {choice: ["not-a-choice"], other: kept}))
    page = client.get(response["Location"]).content.decode()
    assert "Some answers need fixing" in page and 'class="field-error"' in page
    assert re.search(rf'value="{kept[0]}"[^>]*checked', page)
    assert not ReviewCard.objects.exists()


@pytest.mark.django_db
def test_it_keeps_no_more_of_a_hostile_warm_up_post_in_the_session_than_a_form_holds(course):
    client = Client()
    action, form, asked = warm_up_form(client)
    choice = next(q for q in asked if q.kind == "single")
    # 1.8 MB under one field name, as no browser sends; random, as the session is compressed.
    flood = [secrets.token_hex(1000) for _ in range(900)]
    response = client.post(action, answering(form, {choice: flood}))
    stored = Session.objects.get(session_key=client.session.session_key).session_data
    assert len(stored) < 100_000
    page = client.get(response["Location"]).content.decode()
    assert "Some answers need fixing" in page and 'class="field-error"' in page
    assert not ReviewCard.objects.exists()
