"""Every form of the lesson, quiz and review pages, submitted in Chromium the way a
learner does (a click on the page's own button, to wherever the page's form posts), on
the real site under Daphne; each asserts what the server recorded, read from the live
site's database, and what the next page says.

The forms: the lesson's "Mark as read", the quiz, "Retry the N questions you missed",
"Take the whole quiz again", "Show the answers", the review queue's and the lesson
warm-up's. The course's introduction quiz is used: it has no lab question, so every
question can be answered right from its content file."""

import json
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from playwright.sync_api import expect

from lessons import course_files

QUIZ = "introduction-quiz"
RESULT = re.compile(r"/quizzes/introduction-quiz/attempts/\d+/$")


@pytest.fixture(scope="module")
def quiz() -> dict:
    return next(
        q for q in course_files.read_quizzes(settings.COURSE_CONTENT_DIR) if q["slug"] == QUIZ
    )


def live(server, code: str):
    """What `code` (run in the live site's `manage.py shell`, with the site's database)
    leaves in `result`, as JSON."""
    done = server.manage("shell", "-c", f"import json\n{code}\nprint(json.dumps(result))")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def learner(page, server) -> dict:
    """The row-owner fields of the browser's visitor, from its session cookie."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    code = f"""
from importlib import import_module
from django.conf import settings
cookies = {cookies!r}
store = import_module(settings.SESSION_ENGINE).SessionStore(cookies[settings.SESSION_COOKIE_NAME])
result = {{"user": None, "learner_key": store["learner"]}}
"""
    return live(server, code)


def attempts(server, owner: dict) -> list[dict]:
    code = f"""
from lessons.models import Attempt
rows = Attempt.objects.filter(quiz__slug={QUIZ!r}, **{owner!r}).order_by("pk")
result = [
    {{"pk": a.pk, "retry_of": a.retry_of_id, "percent": a.percent,
      "answers": a.answers.count(), "right": sum(x.correct for x in a.answers.all())}}
    for a in rows
]
"""
    return live(server, code)


def no_axe_violation(page):
    """The page as it is now passes the axe-core audit (tests/browser/test_accessibility_browser.py
    audits every page; these are the states only this flow reaches)."""
    violations = Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


def words(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def answer_rightly(page, quiz: dict, questions: str = "li.question") -> int:
    """Answer every question shown (matched to the content file by its prompt) right."""
    shown = page.locator(questions).all()
    for box in shown:
        legend = words(box.locator("legend").inner_text())
        question = next(q for q in quiz["questions"] if words(q["prompt"]) in legend)
        if question["kind"] in ("single", "multiple"):
            right = [c["text"] for c in question["choices"] if c["correct"]]
        elif question["kind"] == "true_false":
            right = ["True" if question["answer"] else "False"]
        else:
            typed = question["accepted"][0] if question["kind"] == "text" else question["answer"]
            box.locator("input[type=text]").fill(
                f"{typed:g}" if question["kind"] == "number" else typed
            )
            continue
        for text in right:
            label = box.locator("label.choice").filter(
                has_text=re.compile(rf"^\s*{re.escape(text)}\s*$")
            )
            label.locator("input").check()
    return len(shown)


def submit_blank(page, button: str):
    """Submit with nothing answered; the page asks first, and the learner says yes."""
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=button).click()


def test_it_records_the_quiz_its_retries_the_whole_quiz_again_and_mark_as_read(
    page, daphne_server, quiz
):
    total = len(quiz["questions"])
    page.goto(page.base + "/lessons/introduction/")
    with page.expect_request(
        lambda r: (
            r.method == "POST"
            and r.url.endswith("/lessons/introduction/read/")
            and r.is_navigation_request()
        )
    ):
        page.get_by_role("button", name="Mark as read and take the quiz").click()
    page.wait_for_url(f"**/quizzes/{QUIZ}/")
    owner = learner(page, daphne_server)
    read = live(
        daphne_server,
        f"from lessons.models import LessonRead\n"
        f"result = LessonRead.objects.filter(lesson__slug='introduction', **{owner!r}).count()",
    )
    assert read == 1
    expect(page.locator(".key-policy")).to_have_text(
        "The answers are shown once you pass, or after two attempts if you ask."
    )

    # The quiz form, nothing answered: recorded at 0 %, the key kept back.
    submit_blank(page, "Submit answers")
    page.wait_for_url(RESULT)
    expect(page.locator("h1")).to_have_text("You scored 0%")
    expect(page.locator(".key-policy")).to_contain_text("once you pass, or after two attempts")
    expect(page.locator(".explanation")).to_have_count(0)
    expect(page.get_by_role("button", name="Show the answers")).to_have_count(0)
    [first] = attempts(daphne_server, owner)
    assert (first["percent"], first["answers"], first["retry_of"]) == (0, total, None)

    # Read but not passed: no ✓ on the course page, the words say so.
    result_url = page.url
    page.goto(page.base + "/")
    card = page.locator(".lesson-card", has_text="What is a socket, anyway?")
    expect(card.locator(".lesson-number")).to_have_text("1")
    expect(card).to_contain_text("Read")
    expect(card).to_contain_text("Quiz: Not yet passed (best 0%)")
    expect(
        page.get_by_role("heading", name="Final quiz — recommended after the lessons")
    ).to_be_visible()
    no_axe_violation(page)
    page.goto(result_url)

    # The retry form, blank again: recorded as a retry of the first.
    page.get_by_role("link", name=f"Retry the {total} questions you missed").click()
    expect(page.get_by_text("retrying the questions you missed")).to_be_visible()
    submit_blank(page, "Submit answers")
    page.wait_for_url(RESULT)
    expect(page.get_by_text("This was a retry of the questions you missed")).to_be_visible()
    first, retry = attempts(daphne_server, owner)
    assert (retry["retry_of"], retry["answers"], retry["percent"]) == (first["pk"], total, 0)

    # Two attempts: the learner may now ask for the key.
    no_axe_violation(page)
    page.get_by_role("button", name="Show the answers").click()
    page.wait_for_url(re.compile(r"\?answers=show$"))
    expect(page.locator(".explanation")).to_have_count(total)
    expect(page.get_by_text("correct answer").first).to_be_visible()
    no_axe_violation(page)

    # The retry form, answered right: passed.
    page.get_by_role("link", name=f"Retry the {total} questions you missed").click()
    assert answer_rightly(page, quiz) == total
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_url(RESULT)
    expect(page.locator("h1")).to_have_text("You scored 100%")
    expect(page.locator(".score-line")).to_contain_text("Passed")
    *_, passed = attempts(daphne_server, owner)
    assert (passed["retry_of"], passed["percent"], passed["right"]) == (retry["pk"], 100, total)

    # "Take the whole quiz again": a whole attempt, not a retry.
    page.get_by_role("link", name="Take the whole quiz again").click()
    page.wait_for_url(f"**/quizzes/{QUIZ}/")
    expect(page.get_by_text("retrying the questions you missed")).to_have_count(0)
    answer_rightly(page, quiz)
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_url(RESULT)
    rows = attempts(daphne_server, owner)
    assert len(rows) == 4
    assert (rows[-1]["retry_of"], rows[-1]["answers"], rows[-1]["percent"]) == (None, total, 100)

    # The item analysis counts every attempt's answer to each question, retries too.
    stats = live(
        daphne_server,
        "from lessons.analysis import quiz_stats\n"
        "from lessons.models import Attempt, Quiz\n"
        f"mine = Attempt.objects.filter(**{owner!r})\n"
        f"quiz = Quiz.objects.get(slug={QUIZ!r})\n"
        "rows = [(s.question.key, s.answers, s.correct) for s in quiz_stats(quiz).questions]\n"
        "result = {'rows': rows, 'everyone': quiz_stats(quiz).attempts, 'mine': mine.count()}",
    )
    assert stats["mine"] == 4 and stats["everyone"] >= 4
    assert all(answers >= 4 and correct >= 2 for _, answers, correct in stats["rows"])

    # Passed: the lesson is done on the course page.
    page.goto(page.base + "/")
    card = page.locator(".lesson-card", has_text="What is a socket, anyway?")
    expect(card.locator(".lesson-number")).to_have_text("✓")
    expect(card).to_contain_text("Done")
    expect(card).to_contain_text("Quiz: Passed (best 100%)")


def test_it_records_answers_from_the_review_queue_and_a_lessons_warm_up(page, daphne_server, quiz):
    page.goto(f"{page.base}/quizzes/{QUIZ}/")
    submit_blank(page, "Submit answers")
    page.wait_for_url(RESULT)
    owner = learner(page, daphne_server)
    cards = f"""
from review.models import ReviewCard
cards = ReviewCard.objects.filter(**{owner!r})
result = sorted((c.ref, c.reviews) for c in cards)
"""
    before = dict(live(daphne_server, cards))
    assert len(before) == len(quiz["questions"])  # each missed question is in the queue
    # A missed question comes back in ten minutes: move the queue's clock, not the test's.
    live(
        daphne_server,
        "from datetime import timedelta\nfrom django.utils import timezone\n"
        "from review.models import ReviewCard\n"
        f"mine = ReviewCard.objects.filter(**{owner!r})\n"
        "mine.update(due=timezone.now() - timedelta(minutes=1))\n"
        "result = None",
    )

    # The review queue's form.
    page.goto(page.base + "/review/")
    expect(page.locator(".review-form")).to_be_visible()
    answer_rightly(page, quiz, ".review-form .question")
    page.get_by_role("button", name="Check my answer").click()
    expect(page.get_by_role("heading", name="Right", exact=True)).to_be_focused()
    after = dict(live(daphne_server, cards))
    changed = [ref for ref in before if after[ref] != before[ref]]
    assert len(changed) == 1 and after[changed[0]] == before[changed[0]] + 1
    expect(page.get_by_text(f"{len(before) - 1} more due now.")).to_be_visible()

    # The warm-up form of the next lesson: questions on this one, answered right.
    page.goto(page.base + "/lessons/connections/")
    asked = answer_rightly(page, quiz, ".warm-up-form .question")
    assert asked
    page.get_by_role("button", name="Check my answers").click()
    expect(page.locator("#warm-up-heading")).to_have_text("Warm-up: your answers")
    expect(page.locator(".warm-up .mark-right")).to_have_count(asked)
    warmed = dict(live(daphne_server, cards))
    assert sum(warmed.values()) == sum(after.values()) + asked


def test_it_records_a_retry_of_the_missed_questions_on_a_phone(phone, daphne_server, quiz):
    page = phone
    total = len(quiz["questions"])
    page.goto(f"{page.base}/quizzes/{QUIZ}/")
    submit_blank(page, "Submit answers")
    page.wait_for_url(RESULT)
    page.get_by_role("link", name=f"Retry the {total} questions you missed").click()
    answer_rightly(page, quiz)
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_url(RESULT)
    expect(page.locator("h1")).to_have_text("You scored 100%")
    expect(page.get_by_text("This was a retry of the questions you missed")).to_be_visible()
    no_axe_violation(page)
    first, retry = attempts(daphne_server, learner(page, daphne_server))
    assert (retry["retry_of"], retry["percent"], retry["right"]) == (first["pk"], 100, total)
