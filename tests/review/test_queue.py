"""The review queue: what a miss puts in it, when FSRS brings it back, how answers move
it, and how a visitor's queue becomes their account's. The clock is moved by passing
`now`, never by waiting."""

from datetime import UTC, datetime, timedelta

import pytest

from lessons.models import Attempt, Question, Quiz
from review import cards
from review.models import ReviewCard
from sockets_site.learners import Learner
from tests.support.forms import form_in, post_data, submission, without_lab_questions

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
VISITOR = Learner(None, "a" * 32)


@pytest.fixture
def quiz(course):
    return without_lab_questions(Quiz.objects.get(slug="sockets-quiz"))


@pytest.fixture
def question(quiz):
    return quiz.questions.first()


def due_refs(learner, now) -> list[str]:
    return [card.ref for card in cards.due(learner, now)]


@pytest.mark.django_db
def test_it_brings_a_missed_question_back_after_its_fsrs_interval_and_not_before(question):
    ref = str(question.pk)
    card = cards.record(VISITOR, "question", ref, correct=False, now=T0)
    interval = card.due - T0
    assert timedelta(0) < interval <= timedelta(days=1)
    assert due_refs(VISITOR, T0) == []
    assert due_refs(VISITOR, T0 + interval - timedelta(seconds=1)) == []
    assert due_refs(VISITOR, T0 + interval) == [ref]
    assert due_refs(VISITOR, T0 + interval + timedelta(days=30)) == [ref]


@pytest.mark.django_db
def test_it_pushes_the_due_date_later_for_each_right_answer(question):
    ref = str(question.pk)
    card = cards.record(VISITOR, "question", ref, correct=False, now=T0)
    intervals = [card.due - T0]
    for _ in range(3):
        answered = card.due
        card = cards.record(VISITOR, "question", ref, correct=True, now=answered)
        intervals.append(card.due - answered)
    assert intervals == sorted(intervals) and len(set(intervals)) == 4, intervals
    assert intervals[1] >= timedelta(days=1)  # one right answer sends it days away
    assert due_refs(VISITOR, card.due - timedelta(seconds=1)) == []


@pytest.mark.django_db
def test_it_brings_a_question_missed_again_back_sooner(question):
    ref, other = str(question.pk), str(question.pk + 1000)
    for item in (ref, other):  # two items with the same history
        card = cards.record(VISITOR, "question", item, correct=False, now=T0)
        cards.record(VISITOR, "question", item, correct=True, now=card.due)
    review_at = ReviewCard.objects.get(ref=ref).due
    missed = cards.record(VISITOR, "question", ref, correct=False, now=review_at)
    known = cards.record(VISITOR, "question", other, correct=True, now=review_at)
    assert missed.due < known.due
    assert missed.due - review_at < timedelta(days=1) < known.due - review_at
    assert (missed.misses, known.misses) == (2, 1)


@pytest.mark.django_db
def test_it_leaves_the_queue_alone_when_an_item_not_in_it_is_answered_right(question):
    assert cards.record(VISITOR, "question", str(question.pk), correct=True, now=T0) is None
    assert not ReviewCard.objects.exists()


@pytest.mark.django_db
def test_it_queues_a_wrong_prediction_by_experiment_and_step():
    card = cards.record(VISITOR, "prediction", "a-port-with-nothing-at-it/2", False, now=T0)
    assert (card.kind, card.ref, card.learner_key) == (
        "prediction",
        "a-port-with-nothing-at-it/2",
        VISITOR.key,
    )
    assert due_refs(VISITOR, card.due) == ["a-port-with-nothing-at-it/2"]


@pytest.mark.django_db
def test_it_refuses_an_unknown_kind_or_a_learner_without_a_queue(question):
    with pytest.raises(ValueError, match="Unknown review item kind 'answer'"):
        cards.record(VISITOR, "answer", "1", False, now=T0)
    with pytest.raises(ValueError, match="no queue"):
        cards.record(Learner(None, ""), "question", str(question.pk), False, now=T0)
    assert not ReviewCard.objects.exists()


@pytest.mark.django_db
def test_it_keeps_one_learners_queue_from_anothers(question):
    cards.record(VISITOR, "question", str(question.pk), False, now=T0)
    other = Learner(None, "b" * 32)
    assert due_refs(other, T0 + timedelta(days=1)) == []
    assert due_refs(VISITOR, T0 + timedelta(days=1)) == [str(question.pk)]


@pytest.mark.django_db
def test_it_queues_the_questions_missed_in_a_quiz_at_the_attempts_time(client, quiz):
    missed = list(quiz.questions.all()[:2])
    page = client.get(quiz.get_absolute_url()).content.decode()
    data = submission(page, quiz, wrong={q.key for q in missed})
    assert client.post(quiz.get_absolute_url(), data).status_code == 302
    attempt = Attempt.objects.get()
    queued = ReviewCard.objects.filter(learner_key=attempt.learner_key, user=None)
    assert sorted(c.ref for c in queued) == sorted(str(q.pk) for q in missed)
    for card in queued:
        assert card.created_at == attempt.submitted_at
        assert card.due > attempt.submitted_at
    # A right answer in a later attempt reviews the card: later, not gone.
    first_due = {c.ref: c.due for c in queued}
    page = client.get(quiz.get_absolute_url()).content.decode()
    assert client.post(quiz.get_absolute_url(), submission(page, quiz)).status_code == 302
    for card in ReviewCard.objects.filter(learner_key=attempt.learner_key):
        assert card.reviews == 2 and card.due > first_due[card.ref]


@pytest.mark.django_db
def test_it_moves_a_visitors_queue_to_their_account_on_log_in(client, quiz, django_user_model):
    ada = django_user_model.objects.create_user("ada", password="correct-horse-battery")
    first, second, *_ = quiz.questions.all()
    # The account missed the first question long ago: its card fell due since.
    cards.record(Learner(ada), "question", str(first.pk), False, now=T0)
    page = client.get(quiz.get_absolute_url()).content.decode()
    data = submission(page, quiz, wrong={first.key, second.key})
    client.post(quiz.get_absolute_url(), data)
    key = client.session["learner"]
    assert ReviewCard.objects.filter(learner_key=key).count() == 2

    login = client.get("/accounts/login/").content.decode()
    action, form = form_in(login, "/accounts/login/", "stacked-form")
    fields = post_data(form)
    assert {"username", "password"} <= set(fields)
    fields.update(username="ada", password="correct-horse-battery")
    assert client.post(action, fields).status_code == 302

    assert not ReviewCard.objects.filter(user=None).exists()
    mine = {c.ref: c for c in ReviewCard.objects.filter(user=ada)}
    assert set(mine) == {str(first.pk), str(second.pk)}
    # Both had the first: the account's, due long ago, is kept; the misses add up.
    assert mine[str(first.pk)].due < T0 + timedelta(days=1)
    assert mine[str(first.pk)].misses == 2
    assert str(first.pk) in due_refs(Learner(ada), datetime.now(UTC))


@pytest.mark.django_db
def test_it_keeps_the_card_due_sooner_when_both_have_one(question, django_user_model):
    ada = django_user_model.objects.create_user("ada", password="correct-horse-battery")
    ref = str(question.pk)
    card = cards.record(Learner(ada), "question", ref, False, now=T0)
    cards.record(Learner(ada), "question", ref, True, now=card.due)  # a day or more away
    visitor = cards.record(VISITOR, "question", ref, False, now=T0 + timedelta(hours=1))
    cards.move_to_user(VISITOR.key, ada)
    kept = ReviewCard.objects.get()
    assert (kept.user, kept.due, kept.reviews, kept.misses) == (ada, visitor.due, 3, 2)


@pytest.mark.django_db
def test_it_asks_only_questions_whose_quiz_would_show_the_answer_anyway(question):
    from review import items

    cards.record(VISITOR, "question", str(question.pk), False, now=T0)
    later = T0 + timedelta(days=1)
    assert len(items.due_items(_anyone(), VISITOR, later)) == 1
    Quiz.objects.filter(pk=question.quiz_id).update(max_attempts=2)
    assert items.due_items(_anyone(), VISITOR, later) == []
    Quiz.objects.filter(pk=question.quiz_id).update(max_attempts=None, published=False)
    assert items.due_items(_anyone(), VISITOR, later) == []
    Quiz.objects.filter(pk=question.quiz_id).update(published=True)
    Question.objects.filter(pk=question.pk).delete()
    assert items.due_items(_anyone(), VISITOR, later) == []


def _anyone():
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()
