import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils.html import escape

from lessons.models import Attempt, Quiz
from tests.support.forms import (
    assert_no_answer_key,
    form_in,
    page_token,
    question_order,
    submission,
    without_lab_questions,
)


@pytest.fixture
def quiz(course):
    return without_lab_questions(Quiz.objects.get(slug="sockets-quiz"))


def take(client, quiz, wrong=frozenset()):
    page = client.get(quiz.get_absolute_url()).content.decode()
    response = client.post(quiz.get_absolute_url(), submission(page, quiz, wrong))
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def keys(quiz, n):
    return {q.key for q in quiz.questions.all()[:n]}


@pytest.mark.django_db
def test_it_never_puts_answers_in_the_quiz_page(client, quiz):
    assert_no_answer_key(client.get(quiz.get_absolute_url()).content.decode(), quiz)


@pytest.mark.django_db
def test_it_keeps_the_shuffled_order_on_reload_and_draws_a_new_one_per_attempt(client, quiz):
    first = client.get(quiz.get_absolute_url()).content.decode()
    again = client.get(quiz.get_absolute_url()).content.decode()
    assert question_order(first) == question_order(again)
    assert re.findall(r'value="(\d+)" id="id_q', first) == re.findall(
        r'value="(\d+)" id="id_q', again
    )
    orders = {tuple(question_order(first))}
    for _ in range(3):
        take(client, quiz)
        orders.add(tuple(question_order(client.get(quiz.get_absolute_url()).content.decode())))
    assert len(orders) > 1  # 9 questions: the same order 4 times has odds of 1 in 10^16


@pytest.mark.django_db
def test_it_shows_score_explanations_feedback_and_lesson_links_after_submitting(client, quiz):
    wrong = keys(quiz, 2)
    response = take(client, quiz, wrong)
    page = client.get(response["Location"]).content.decode()
    total = quiz.questions.count()
    assert f"You scored {round(100 * (total - 2) / total)}%" in page
    assert page.count("✓ Right") == total - 2
    assert page.count("✗ Wrong") == 2
    for question in quiz.questions.prefetch_related("choices"):
        assert escape(question.explanation) in page
        assert f'href="/lessons/sockets/#{question.anchor}"' in page
        if question.key in wrong and question.kind == "single":
            chosen = next(c for c in question.choices.all() if not c.is_correct)
            assert escape(chosen.feedback) in page


@pytest.mark.django_db
def test_it_records_a_double_submission_once(client, quiz):
    page = client.get(quiz.get_absolute_url()).content.decode()
    data = submission(page, quiz)
    first = client.post(quiz.get_absolute_url(), data)
    second = client.post(quiz.get_absolute_url(), data)
    assert first["Location"] == second["Location"]
    assert Attempt.objects.count() == 1
    assert "already submitted" in client.get(second["Location"]).content.decode()
    assert Attempt.objects.get().answers.count() == quiz.questions.count()


@pytest.mark.django_db
def test_it_reshows_the_form_with_a_message_and_keeps_answers_for_a_bad_number(client, quiz):
    page = client.get(quiz.get_absolute_url()).content.decode()
    data = submission(page, quiz)
    number = next(q for q in quiz.questions.all() if q.kind == "number")
    text = next(q for q in quiz.questions.all() if q.kind == "text")
    data[f"q{number.pk}"] = "about 3?"
    response = client.post(quiz.get_absolute_url(), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Some answers need fixing" in html and "Enter one number, such as 3" in html
    assert 'value="about 3?"' in html
    assert f'value="{text.accepted[0]}"' in html  # nothing typed is lost
    assert question_order(html) == question_order(page)  # nor the order it was shown in
    assert not Attempt.objects.exists()


@pytest.mark.django_db
def test_it_stops_at_the_attempt_limit(client, quiz):
    Quiz.objects.filter(pk=quiz.pk).update(max_attempts=2)
    take(client, quiz, keys(quiz, 3))
    take(client, quiz)
    page = client.get(quiz.get_absolute_url()).content.decode()
    assert "You have used all 2 attempts" in page
    assert 'name="attempt"' not in page
    last = Attempt.objects.last()
    assert "Retry" not in client.get(f"/quizzes/{quiz.slug}/attempts/{last.pk}/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rule", "expected"),
    [("highest", "Passed (best 100%)"), ("last", "Not yet passed (last attempt {last:.0f}%)")],
)
def test_it_counts_the_highest_or_the_last_attempt(client, quiz, rule, expected):
    Quiz.objects.filter(pk=quiz.pk).update(counts=rule)
    take(client, quiz)
    take(client, quiz, keys(quiz, quiz.questions.count()))
    last = Attempt.objects.last().percent
    assert last < quiz.pass_mark
    listing = client.get("/quizzes/").content.decode()
    assert expected.format(last=last) in listing


@pytest.mark.django_db
def test_it_retries_only_the_missed_questions_and_keeps_the_rest(client, quiz):
    wrong = keys(quiz, 2)
    result = take(client, quiz, wrong)
    first = Attempt.objects.get()
    page = client.get(result["Location"]).content.decode()
    assert "Retry the 2 questions you missed" in page
    retry_url = f"/quizzes/{quiz.slug}/attempts/{first.pk}/retry/"
    retry_page = client.get(retry_url).content.decode()
    missed = {f"q{q.pk}" for q in quiz.questions.all() if q.key in wrong}
    assert set(question_order(retry_page)) == missed
    assert "retrying the questions you missed" in retry_page
    # Where a browser posts the retry page's form: its action, resolved against the page.
    action, _ = form_in(retry_page, retry_url, "quiz-form")
    assert action == quiz.get_absolute_url()
    response = client.post(action, submission(retry_page, quiz))
    retry = Attempt.objects.get(retry_of=first)
    assert retry.percent == 100.0
    assert "You scored 100%" in client.get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_it_records_a_retry_posted_to_the_retry_pages_own_url(client, quiz):
    """A retry page opened before its form named an action posts to its own URL: that
    is recorded too, never answered with a blank form."""
    wrong = keys(quiz, 2)
    take(client, quiz, wrong)
    first = Attempt.objects.get()
    retry_url = f"/quizzes/{quiz.slug}/attempts/{first.pk}/retry/"
    retry_page = client.get(retry_url).content.decode()
    response = client.post(retry_url, submission(retry_page, quiz))
    retry = Attempt.objects.get(retry_of=first)
    assert response["Location"] == retry.get_absolute_url()
    assert retry.percent == 100.0


@pytest.mark.django_db
def test_it_gives_partial_credit_for_a_retry_with_a_wrong_answer_again(client, quiz):
    wrong = keys(quiz, 2)
    take(client, quiz, wrong)
    first = Attempt.objects.get()
    retry_url = f"/quizzes/{quiz.slug}/attempts/{first.pk}/retry/"
    retry_page = client.get(retry_url).content.decode()
    still_wrong = {sorted(wrong)[0]}
    action, _ = form_in(retry_page, retry_url, "quiz-form")
    client.post(action, submission(retry_page, quiz, still_wrong))
    retry = Attempt.objects.get(retry_of=first)
    total = quiz.questions.count()
    assert retry.points == pytest.approx(total - 1)
    assert retry.max_points == total


@pytest.mark.django_db
def test_it_lets_students_review_their_attempts_but_not_anyone_elses(
    client, quiz, django_user_model
):
    result = take(client, quiz)
    assert client.get(result["Location"]).status_code == 200
    other = django_user_model.objects.create_user("other", password="pw-other-123")
    elsewhere = Client()  # another student's browser
    elsewhere.force_login(other)
    assert elsewhere.get(result["Location"]).status_code == 404
    # and neither can they retry it
    first = Attempt.objects.get(user=None)
    assert elsewhere.get(f"/quizzes/{quiz.slug}/attempts/{first.pk}/retry/").status_code == 404
    # and a forged page token is refused, not graded
    page = elsewhere.get(quiz.get_absolute_url()).content.decode()
    data = submission(page, quiz)
    data["token"] = data["token"][:-4] + ("AAAA" if not data["token"].endswith("AAAA") else "BBBB")
    response = elsewhere.post(quiz.get_absolute_url(), data, follow=True)
    assert "could not be read, so nothing was recorded" in response.content.decode()
    assert not Attempt.objects.filter(user=other).exists()


@pytest.mark.django_db
def test_it_offers_hints_before_answering(client, quiz):
    page = client.get(quiz.get_absolute_url()).content.decode()
    hinted = [q for q in quiz.questions.all() if q.hint]
    assert hinted
    for question in hinted:
        assert escape(question.hint) in page
    assert page.count("<summary>Show a hint</summary>") == len(hinted)


@pytest.mark.django_db
def test_it_hides_unpublished_quizzes_from_students(client, quiz):
    Quiz.objects.filter(pk=quiz.pk).update(published=False)
    assert client.get(quiz.get_absolute_url()).status_code == 404
    assert quiz.title not in client.get("/quizzes/").content.decode()


@pytest.mark.django_db
def test_it_marks_unanswered_questions_as_such(client, quiz):
    page = client.get(quiz.get_absolute_url()).content.decode()
    data = {"token": page_token(page)}
    response = client.post(quiz.get_absolute_url(), data)
    result = client.get(response["Location"]).content.decode()
    assert "You scored 0%" in result
    assert result.count("✗ Not answered") == quiz.questions.count()


@pytest.mark.django_db
def test_it_writes_nothing_when_a_visitor_opens_pages(client, quiz):
    """A crawler without cookies grows no table: the attempt is written on submission."""
    urls = ["/", "/quizzes/", "/lessons/sockets/", "/glossary/"]
    urls += [q.get_absolute_url() for q in Quiz.objects.all()]
    for _ in range(3):
        for url in urls:
            crawler = Client()
            assert crawler.get(url).status_code == 200
            assert "sessionid" not in crawler.cookies
    assert Session.objects.count() == 0
    assert Attempt.objects.count() == 0


def review(client, quiz, wrong):
    return client.get(take(client, quiz, wrong)["Location"]).content.decode()


def single_wrong(quiz, wrong):
    question = next(q for q in quiz.questions.all() if q.key in wrong and q.kind == "single")
    chosen = next(c for c in question.choices.all() if not c.is_correct)
    right = next(c for c in question.choices.all() if c.is_correct)
    return question, chosen, right


@pytest.mark.django_db
def test_it_keeps_the_answer_key_of_a_limited_quiz_until_the_last_attempt(client, quiz):
    Quiz.objects.filter(pk=quiz.pk).update(max_attempts=2)
    wrong = {q.key for q in quiz.questions.all() if q.kind == "single"}
    question, chosen, right = single_wrong(quiz, wrong)
    first = review(client, quiz, wrong)
    assert "✗ Wrong" in first and escape(chosen.feedback) in first  # feedback on the choice
    assert escape(right.feedback) not in first
    assert escape(question.explanation) not in first
    assert '<li class="is-correct">' not in first  # no right answer the learner did not choose
    assert "shown after your last attempt" in first
    last = review(client, quiz, wrong)
    assert escape(question.explanation) in last and escape(right.feedback) in last
    assert '<li class="is-correct">' in last
    assert "shown after your last attempt" not in last


@pytest.mark.django_db
def test_it_shows_the_answer_key_once_passed_when_the_quiz_says_so(client, quiz):
    Quiz.objects.filter(pk=quiz.pk).update(show_answers="passed")
    wrong = {q.key for q in quiz.questions.all()}
    question, _, _ = single_wrong(quiz, wrong)
    failed = review(client, quiz, wrong)
    assert escape(question.explanation) not in failed
    assert "shown once you pass this quiz" in failed
    take(client, quiz)
    earlier = Attempt.objects.order_by("pk").first()
    assert escape(question.explanation) in client.get(earlier.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_it_shows_the_answer_key_after_every_attempt_when_the_quiz_says_so(client, quiz):
    Quiz.objects.filter(pk=quiz.pk).update(max_attempts=3, show_answers="every")
    wrong = {q.key for q in quiz.questions.all()}
    question, _, right = single_wrong(quiz, wrong)
    page = review(client, quiz, wrong)
    assert escape(question.explanation) in page and escape(right.feedback) in page


@pytest.mark.django_db
def test_it_shows_feedback_on_a_predictable_wrong_number_only_after_submitting(client, quiz):
    question = quiz.questions.get(key="sockets-after-two-tabs")
    feedback = next(w["feedback"] for w in question.wrong_answers if w["answer"] == 2)
    page = client.get(quiz.get_absolute_url()).content.decode()
    assert escape(feedback) not in page
    data = submission(page, quiz)
    data[f"q{question.pk}"] = "2"
    response = client.post(quiz.get_absolute_url(), data)
    result = client.get(response["Location"]).content.decode()
    assert escape(feedback) in result
