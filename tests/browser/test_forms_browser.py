"""The account and staff forms no other browser test submits, each submitted in Chromium
the way a person does (their own page, their own button) on the real site under Daphne;
each asserts what the live site's database recorded (read with its `manage.py shell`)
and what the next page says.

The forms: log-in, password change, e-mail address, log-out; in the admin, a question's
"Duplicate question", its own change page (prompt and choices), the lesson body typed in
EasyMDE, and Django's delete confirmation. Admin tests work on a quiz of their own (not
published, so no learner's page shows it); the lesson test edits a course lesson and
puts its body back through the same form."""

import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.support import live_server
from tests.support.browser_pages import new_page, visiting

PASSWORD = "a-very-long-passphrase"
NEW_PASSWORD = "another-long-passphrase"


def live(server, code: str):
    """What `code` (run in the live site's `manage.py shell`) leaves in `result`, as JSON."""
    done = server.manage("shell", "-c", f"import json\n{code}\nprint(json.dumps(result))")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def a_learner(server, email: str = "") -> str:
    name = f"learner-{uuid.uuid4().hex[:8]}"
    code = (
        "from django.contrib.auth import get_user_model\n"
        f"get_user_model().objects.create_user({name!r}, {email!r}, {PASSWORD!r})\n"
        "result = True"
    )
    live(server, code)
    return name


def stored_user(server, name: str) -> dict:
    code = (
        "from django.contrib.auth import get_user_model\n"
        f"user = get_user_model().objects.get(username={name!r})\n"
        "result = {'email': user.email}"
    )
    return live(server, code)


def log_in(page, name: str, password: str):
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def header(page):
    return page.locator(".account")


def log_out(page):
    header(page).get_by_role("button", name="Log out").click()
    expect(header(page).get_by_role("link", name="Log in")).to_be_visible()


def session_cookie(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")


def test_it_changes_the_password_so_only_the_new_one_logs_in(page, daphne_server):
    name = a_learner(daphne_server)
    log_in(page, name, PASSWORD)
    expect(header(page)).to_contain_text(name)
    header(page).get_by_role("link", name=name).click()
    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Old password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    expect(header(page)).to_contain_text(name)  # still logged in after the change

    log_out(page)
    log_in(page, name, PASSWORD)
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
    log_in(page, name, NEW_PASSWORD)
    expect(header(page).get_by_role("link", name=name)).to_be_visible()


def test_it_changes_the_e_mail_address_only_with_the_password(page, daphne_server):
    name = a_learner(daphne_server)
    log_in(page, name, PASSWORD)
    header(page).get_by_role("link", name=name).click()
    page.get_by_role("link", name="Add an e-mail address").click()
    address = f"{name}@example.org"
    page.get_by_label("E-mail address").fill(address)
    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("That is not your password.")).to_be_visible()
    assert stored_user(daphne_server, name) == {"email": ""}

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text(f"Your e-mail address is now {address}.")
    assert stored_user(daphne_server, name) == {"email": address}
    expect(page.get_by_role("link", name="Change or remove your e-mail address")).to_be_visible()


@pytest.mark.parametrize("size", ["page", "phone"])
def test_it_logs_out_and_ends_the_session(request, size, daphne_server):
    page = request.getfixturevalue(size)  # the header's Log out, at both sizes
    name = a_learner(daphne_server)
    log_in(page, name, PASSWORD)
    expect(header(page)).to_contain_text(name)
    before = session_cookie(page)
    exists = (
        "from importlib import import_module\nfrom django.conf import settings\n"
        "store = import_module(settings.SESSION_ENGINE).SessionStore()\n"
        f"result = store.exists({before!r})"
    )
    assert live(daphne_server, exists) is True

    log_out(page)
    assert live(daphne_server, exists) is False
    page.goto(page.base + "/accounts/email/")
    assert re.search(r"/accounts/login/\?next=/accounts/email/$", page.url), page.url
    expect(header(page)).not_to_contain_text(name)


# --- The admin -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def staff_account(daphne_server):
    return live_server.staff_account(daphne_server.env, "forms-editor")


@pytest.fixture
def staff(page, staff_account):
    """The page, logged in through the admin's log-in form."""
    page.goto(page.base + "/admin/login/")
    page.get_by_label("Username").fill(staff_account["username"])
    page.get_by_label("Password").fill(staff_account["password"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    return page


@pytest.fixture
def quiz(daphne_server) -> dict:
    """A draft quiz of the test's own, with two single-choice questions of two choices."""
    slug = f"forms-{uuid.uuid4().hex[:8]}"
    code = f"""
from lessons.models import Choice, Question, Quiz
quiz = Quiz.objects.create(title="Forms test quiz {slug}", slug={slug!r}, published=False)
pks = []
for n in (1, 2):
    question = Question.objects.create(
        quiz=quiz, key=f"q{{n}}", order=n, kind="single",
        prompt=f"Question {{n}} of the forms test", explanation="Because.",
    )
    Choice.objects.create(question=question, text=f"Right {{n}}", is_correct=True, order=1)
    Choice.objects.create(question=question, text=f"Wrong {{n}}", is_correct=False, order=2)
    pks.append(question.pk)
result = {{"pk": quiz.pk, "questions": pks}}
"""
    return live(daphne_server, code)


def questions(server, quiz: dict) -> list[dict]:
    code = f"""
from lessons.models import Question
rows = Question.objects.filter(quiz_id={quiz["pk"]}).order_by("order", "pk")
result = [
    {{"pk": q.pk, "key": q.key, "prompt": q.prompt,
      "choices": [[c.text, c.is_correct] for c in q.choices.order_by("order", "pk")]}}
    for q in rows
]
"""
    return live(server, code)


def question_page(page, pk: int):
    page.goto(f"{page.base}/admin/lessons/question/{pk}/change/")


def test_it_duplicates_a_question_with_its_choices_at_the_end_of_its_quiz(
    staff, daphne_server, quiz
):
    first = quiz["questions"][0]
    question_page(staff, first)
    staff.get_by_role("button", name="Duplicate question").click()
    expect(staff.locator(".messagelist .success")).to_contain_text("This is the copy")
    stored = questions(daphne_server, quiz)
    assert len(stored) == 3
    copy = stored[-1]
    assert copy["pk"] not in quiz["questions"]
    assert copy["key"] == "q1-copy"
    assert copy["prompt"] == stored[0]["prompt"] == "Question 1 of the forms test"
    assert copy["choices"] == [["Right 1", True], ["Wrong 1", False]]
    # The page now open is the copy's own.
    assert staff.url.endswith(f"/admin/lessons/question/{copy['pk']}/change/")


def test_it_saves_a_questions_prompt_and_choice_from_its_own_page(staff, daphne_server, quiz):
    first = quiz["questions"][0]
    question_page(staff, first)
    staff.get_by_label("Prompt").fill("Which port does **HTTP** use by default?")
    choices = staff.locator("#choices-group")
    wrong = choices.locator("input[name$='-text']:not([name*='__prefix__'])").nth(1)
    expect(wrong).to_have_value("Wrong 1")
    wrong.fill("Port 8080")
    staff.get_by_role("button", name="Save", exact=True).click()
    staff.wait_for_url(f"**/admin/lessons/quiz/{quiz['pk']}/change/")
    expect(staff.locator(".messagelist .success")).to_be_visible()
    stored = questions(daphne_server, quiz)[0]
    assert stored["prompt"] == "Which port does **HTTP** use by default?"
    assert stored["choices"] == [["Right 1", True], ["Port 8080", False]]


def test_it_deletes_a_question_through_the_admins_confirmation(staff, daphne_server, quiz):
    second = quiz["questions"][1]
    question_page(staff, second)
    staff.locator("#content").get_by_role("link", name="Delete").click()
    staff.wait_for_url(f"**/admin/lessons/question/{second}/delete/")
    asked = staff.get_by_text("Are you sure you want to delete the question")
    expect(asked).to_contain_text("Question 2 of the forms test")
    expect(staff.locator("#deleted-objects")).to_contain_text("Wrong 2")  # its choices go too
    staff.get_by_role("button", name=re.compile(r"^Yes, I.m sure$")).click()
    expect(staff.locator(".messagelist .success")).to_contain_text("was deleted successfully")
    assert [q["pk"] for q in questions(daphne_server, quiz)] == [quiz["questions"][0]]
    choices_left = (
        "from lessons.models import Choice\n"
        f"result = Choice.objects.filter(question_id={second}).count()"
    )
    assert live(daphne_server, choices_left) == 0


LESSON = "connections"


def lesson_body(server) -> str:
    code = f"from lessons.models import Lesson\nresult = Lesson.objects.get(slug={LESSON!r}).body"
    return live(server, code)


def set_body(page, text: str | None = None, typed: str = ""):
    """On the lesson's change page: put `text` in EasyMDE, or type `typed` at its end, and
    Save."""
    page.goto(page.base + "/admin/lessons/lesson/")
    page.get_by_role("link", name="Connections", exact=True).click()
    code = page.locator(".field-body .EasyMDEContainer .CodeMirror")
    if text is not None:
        # Putting the whole text back is not what is tested: set through CodeMirror's API.
        code.evaluate("(element, text) => element.CodeMirror.setValue(text)", text)
    else:
        code.click()
        page.keyboard.press("Control+End")
        page.keyboard.type(typed)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_be_visible()


def test_it_saves_the_lesson_body_typed_in_the_editor_and_shows_it_at_once(
    staff, browser, daphne_server
):
    original = lesson_body(daphne_server)
    marker = f"Typed in the editor {uuid.uuid4().hex[:8]}"
    with visiting(new_page(browser, daphne_server)) as reader:
        # A visitor's whole page is cached: the edit must reach it all the same.
        reader.goto(f"{reader.base}/lessons/{LESSON}/")
        expect(reader.locator("main")).not_to_contain_text(marker)
        try:
            set_body(staff, typed=f"\n\n## {marker}\n\nA **bold** line.\n")
            assert f"## {marker}\n\nA **bold** line." in lesson_body(daphne_server)
            reader.reload()
            heading = reader.get_by_role("heading", name=marker)
            expect(heading).to_be_visible()
        finally:
            set_body(staff, text=original)
        assert lesson_body(daphne_server) == original
        reader.reload()
        expect(reader.locator("main")).not_to_contain_text(marker)
