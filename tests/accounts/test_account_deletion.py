"""Deleting one's progress or account, in Chromium against Daphne, through the real
pages and forms: the learner reads a lesson and takes its quiz in the browser, has a lab
run and a review card, then deletes from the account page reached from the header.
The database is then asked, for every model that holds a learner's rows (every
LearnerOwned model, found by that, and every foreign key to the user), whether anything
of theirs survived; another learner's rows must all still be there."""

import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.support.browser_pages import PHONE_OPTIONS, answer_every_question, new_page, visiting

PASSWORD = "a-very-long-passphrase"

# Run by `manage.py shell` on the live site's database: gives the learner (a username,
# or a visitor's key) a lab run and a review card, as the playground would.
GIVE_LAB_PROGRESS = """
from django.contrib.auth import get_user_model
from labs import hooks as labs
from sockets_site.learners import Learner
from labs.models import Experiment
from review import cards
name, key = {name!r}, {key!r}
user = get_user_model().objects.get(username=name) if name else None
learner = Learner(user, "" if user else key)
experiment = Experiment.objects.filter(published=True).first()
labs.record({{"user": user.pk}} if user else {{"learner": key}}, experiment.slug, 1, 3, False)
cards.record(learner, "prediction", f"{{experiment.slug}}/1", False)
"""

# What survives of a learner: rows of every LearnerOwned model they own, the answers of
# the attempts they had (ids given), rows pointing to the user by any foreign key, and the
# throttle's log of their log-ins.
REPORT = """
import json
from axes.models import AccessLog
from django.apps import apps
from django.contrib.auth import get_user_model
from lessons.models import Answer, Attempt
from lessons.models.progress import LearnerOwned
name, key, uid, attempts = {name!r}, {key!r}, {uid!r}, {attempts!r}
User = get_user_model()
user = User.objects.filter(username=name).first() if name else None
uid = uid or (user.pk if user else None)
owner = {{"user_id": uid}} if uid else {{"user": None, "learner_key": key}}
report = {{"uid": uid, "user": user is not None, "rows": {{}}}}
for model in apps.get_models():
    if issubclass(model, LearnerOwned):
        report["rows"][model._meta.label] = model.objects.filter(**owner).count()
report["attempts"] = list(Attempt.objects.filter(**owner).values_list("pk", flat=True))
report["answers"] = Answer.objects.filter(attempt_id__in=attempts or report["attempts"]).count()
pointing = 0
for model in apps.get_models(include_auto_created=True):
    for field in model._meta.get_fields():
        if field.concrete and field.is_relation and field.related_model is User and uid:
            if field.many_to_one or field.one_to_one:
                pointing += model._default_manager.filter(**{{field.attname: uid}}).count()
report["pointing_to_user"] = pointing
report["access_log"] = AccessLog.objects.filter(username=name).count() if name else 0
print("REPORT " + json.dumps(report))
"""


def shell(server, code: str) -> str:
    result = server.manage("shell", "-v", "0", "-c", code)
    assert result.returncode == 0, result.stderr
    return result.stdout


def report(server, name="", key="", uid=None, attempts=None, give_lab_progress=False) -> dict:
    """What the learner owns, after giving them a lab run and a review card if told to."""
    code = REPORT.format(name=name, key=key, uid=uid, attempts=attempts or [])
    if give_lab_progress:
        code = GIVE_LAB_PROGRESS.format(name=name, key=key) + code
    out = shell(server, code)
    return json.loads(re.search(r"^REPORT (.+)$", out, re.M).group(1))


def everything_owned(found: dict) -> bool:
    return all(found["rows"].values()) and found["answers"] > 0


def read_the_lesson_and_take_its_quiz(page):
    page.goto(page.base + "/lessons/sockets/")
    page.get_by_role("button", name="Mark as read and take the quiz").click()
    page.wait_for_url(re.compile(r"/quizzes/[\w-]+/$"))
    answer_every_question(page)
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_url(re.compile(r"/attempts/\d+/$"))


def sign_up(page, username, address=""):
    page.goto(page.base + "/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("E-mail address (optional)").fill(address)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".account")).to_contain_text(username)


def visitor_key(page, server) -> str:
    """The key the visitor's rows carry, as their session holds it."""
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    code = (
        "from importlib import import_module\nfrom django.conf import settings\n"
        "store = import_module(settings.SESSION_ENGINE).SessionStore\n"
        f"print('KEY', store(session_key={session!r}).get('learner', ''))"
    )
    return shell(server, code).split("KEY ")[1].strip()


def a_bystander(server) -> tuple[str, dict]:
    """Another visitor with progress of their own, which no deletion may touch."""
    key = uuid.uuid4().hex
    found = report(server, key=key, give_lab_progress=True)
    assert found["rows"]["labs.LabRun"] == 1
    return key, found


def test_it_deletes_a_learners_progress_and_keeps_the_account(page, daphne_server):
    name = f"learner-{uuid.uuid4().hex[:8]}"
    bystander, kept = a_bystander(daphne_server)
    sign_up(page, name)
    read_the_lesson_and_take_its_quiz(page)
    before = report(daphne_server, name=name, give_lab_progress=True)
    assert everything_owned(before), before

    page.locator(".account").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()
    expect(page.get_by_text("Quiz attempts: 1")).to_be_visible()
    page.get_by_role("link", name="Delete my progress").click()
    expect(page.get_by_text("Lessons read: 1")).to_be_visible()
    page.get_by_role("button", name="Delete my progress").click()

    said = "Your progress is deleted (lessons read: 1; quiz attempts: 1; experiments started: 1"
    expect(page.get_by_role("status")).to_contain_text(said)
    expect(page.get_by_text("Nothing is recorded yet.")).to_be_visible()
    expect(page.locator(".account")).to_contain_text(name)  # still logged in
    after = report(daphne_server, name=name, attempts=before["attempts"])
    assert after["user"] is True
    assert set(after["rows"].values()) == {0}, after
    assert after["answers"] == 0
    assert report(daphne_server, key=bystander) == kept


def test_it_deletes_an_account_only_with_its_password(page, daphne_server):
    name = f"leaver-{uuid.uuid4().hex[:8]}"
    bystander, kept = a_bystander(daphne_server)
    sign_up(page, name, f"{name}@example.org")
    read_the_lesson_and_take_its_quiz(page)
    before = report(daphne_server, name=name, give_lab_progress=True)
    assert everything_owned(before), before
    assert before["access_log"] == 1  # the throttle logged the sign-up's log-in

    page.locator(".account").get_by_role("link", name=name).click()
    page.get_by_role("link", name="Delete my account").click()
    expect(page.get_by_text("It cannot be undone")).to_be_visible()
    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("That is not your password.")).to_be_visible()
    assert report(daphne_server, name=name)["rows"] == before["rows"]

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"The account {name} and all its progress are deleted."
    )
    expect(page.locator(".account")).to_contain_text("Log in")
    after = report(daphne_server, name=name, uid=before["uid"], attempts=before["attempts"])
    assert after["user"] is False
    assert set(after["rows"].values()) == {0}, after
    assert after["answers"] == after["pointing_to_user"] == after["access_log"] == 0
    assert report(daphne_server, key=bystander) == kept

    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()


def test_it_deletes_what_a_visitor_did_without_an_account(page, daphne_server):
    bystander, kept = a_bystander(daphne_server)
    read_the_lesson_and_take_its_quiz(page)
    key = visitor_key(page, daphne_server)
    before = report(daphne_server, key=key, give_lab_progress=True)
    assert everything_owned(before), before

    page.goto(page.base + "/accounts/login/")
    page.get_by_role("link", name="see or delete it").click()
    expect(page.get_by_text("kept for this browser only")).to_be_visible()
    page.get_by_role("link", name="Delete my progress").click()
    page.get_by_role("button", name="Delete my progress").click()

    expect(page.get_by_role("status")).to_contain_text("Your progress is deleted")
    expect(page.get_by_text("Nothing is recorded yet.")).to_be_visible()
    after = report(daphne_server, key=key, attempts=before["attempts"])
    assert set(after["rows"].values()) == {0}, after
    assert after["answers"] == 0
    assert report(daphne_server, key=bystander) == kept


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_it_finds_no_accessibility_violation_on_the_account_pages(browser, daphne_server, size):
    """axe-core, as tests/browser/test_accessibility_browser.py runs it, on the pages added here."""
    from axe_playwright_python.sync_playwright import Axe

    from tests.browser.test_accessibility_browser import describe

    options = PHONE_OPTIONS if size == "phone" else {}
    with visiting(new_page(browser, daphne_server, **options)) as page:

        def audit(name):
            violations = Axe().run(page).response["violations"]
            assert violations == [], f"{name} at {size}:\n" + describe(violations)

        read_the_lesson_and_take_its_quiz(page)
        page.goto(page.base + "/accounts/")
        audit("visitor's progress")
        sign_up(page, f"audit-{size}-{uuid.uuid4().hex[:6]}")
        for path in ("/accounts/", "/accounts/email/", "/accounts/progress/delete/"):
            page.goto(page.base + path)
            audit(path)
        page.goto(page.base + "/accounts/delete/")
        page.get_by_label("Your password").fill("not-my-password")
        page.get_by_role("button", name="Delete my account").click()
        expect(page.get_by_text("That is not your password.")).to_be_visible()
        audit("account deletion with an error")
