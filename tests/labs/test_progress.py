"""Lab progress: what the engine records through DjangoLabHooks (only forward, never for an
unknown owner), moved to the account on log-in, counted on the course page and in each
lesson's status, kept apart between readers of the cached lesson page, and summed up per
experiment in the admin's lab analysis."""

import re

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from labs.hooks import DjangoLabHooks
from labs.models import Experiment, LabRun
from tests.support.forms import post_data

# The hooks reach the database as the engine does (channels' database_sync_to_async),
# which closes a connection found inside a transaction: so these tests commit theirs.
hooks = DjangoLabHooks()
record = async_to_sync(hooks.record)
load = async_to_sync(hooks.load)

LESSON = "/lessons/the-5-tuple/"  # two experiments: three-sockets and two-clients


def visitor(client, url=LESSON) -> dict:
    """A visitor with a learner key, as the playground page gives one; its engine owner."""
    client.post(f"{url}read/")
    return {"learner": client.session["learner"]}


def steps_of(slug) -> int:
    return Experiment.objects.get(slug=slug).steps.count()


def finish(owner, slug):
    record(owner, slug, steps_of(slug), steps_of(slug), True)


@pytest.mark.django_db(transaction=True)
def test_it_records_progress_forward_only(course):
    owner = {"learner": "a" * 32}
    steps = steps_of("ports-stay")
    record(owner, "ports-stay", 2, steps, False)
    assert load(owner) == {"ports-stay": {"done": 2, "finished": False}}
    record(owner, "ports-stay", 1, steps, False)  # an older value, arriving late
    assert load(owner)["ports-stay"]["done"] == 2
    record(owner, "ports-stay", steps, steps, True)
    finished_at = LabRun.objects.get().finished_at
    assert finished_at is not None
    record(owner, "ports-stay", 0, steps, False)  # started over: the record stays finished
    record(owner, "ports-stay", 1, steps, True)
    assert load(owner) == {"ports-stay": {"done": steps, "finished": True}}
    run = LabRun.objects.get()
    assert (run.steps_done, run.steps, run.finished_at) == (steps, steps, finished_at)


@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_run_per_learner_and_experiment(course, django_user_model):
    user = django_user_model.objects.create_user("ada", password="correct-horse-battery")
    for owner in ({"user": user.pk}, {"learner": "b" * 32}, {"learner": "c" * 32}):
        for done in (1, 2, 1):
            record(owner, "three-sockets", done, 3, False)
    assert LabRun.objects.count() == 3
    assert LabRun.objects.get(user=user).steps_done == 2
    assert load({"user": user.pk}) == {"three-sockets": {"done": 2, "finished": False}}


@pytest.mark.django_db(transaction=True)
def test_it_records_nothing_for_an_unknown_owner_or_an_unpublished_experiment(course):
    for owner in ({}, {"learner": ""}, {"user": "1"}, {"learner": "x" * 33}):
        record(owner, "ports-stay", 1, 5, False)
        assert load(owner) == {}
    Experiment.objects.filter(slug="ports-stay").update(published=False)
    Experiment.objects.get(slug="ports-stay").save()  # an edit: a new page generation
    record({"learner": "a" * 32}, "ports-stay", 1, 5, False)
    record({"learner": "a" * 32}, "no-such-experiment", 1, 5, False)
    assert not LabRun.objects.exists()
    ids = {item["id"] for item in async_to_sync(hooks.catalogue)()}
    assert "ports-stay" not in ids and "three-sockets" in ids


@pytest.mark.django_db(transaction=True)
def test_it_offers_the_published_experiments_with_their_steps_in_course_order(course):
    catalogue = async_to_sync(hooks.catalogue)()
    published = Experiment.objects.filter(published=True)
    assert [item["id"] for item in catalogue] == list(
        published.order_by("lesson__order", "order").values_list("slug", flat=True)
    )
    item = next(item for item in catalogue if item["id"] == "connection-refused")
    assert item["lesson"] == "ports" and item["teaches"] == "ports#a-port-with-nothing-at-it"
    steps = Experiment.objects.get(slug="connection-refused").steps.all()
    assert item["steps"] == [s.as_step() for s in steps]
    # A step's prediction and explanation go to the engine, which keeps the answer back.
    assert item["steps"][1]["predict"]["answer"] == 1 and item["steps"][1]["explain"]


@pytest.mark.django_db(transaction=True)
def test_it_moves_lab_runs_to_the_account_on_log_in_keeping_the_further_one(
    client, course, django_user_model
):
    user = django_user_model.objects.create_user("ada", password="correct-horse-battery")
    record({"user": user.pk}, "three-sockets", 2, 3, False)
    record({"user": user.pk}, "ports-stay", 1, 5, False)
    owner = visitor(client)
    record(owner, "three-sockets", 1, 3, False)  # the account's own run is further
    finish(owner, "ports-stay")  # the visitor's run is further: it wins
    record(owner, "two-clients", 2, 4, False)  # the account has none
    response = client.post(
        "/accounts/login/", {"username": "ada", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert not LabRun.objects.filter(user=None).exists()
    assert load({"user": user.pk}) == {
        "three-sockets": {"done": 2, "finished": False},
        "ports-stay": {"done": steps_of("ports-stay"), "finished": True},
        "two-clients": {"done": 2, "finished": False},
    }
    assert LabRun.objects.filter(user=user).count() == 3
    page = client.get("/lessons/sockets/").content.decode()
    assert "Finished</span>" in page.split('data-experiment="ports-stay"', 1)[1].split("</li>")[0]

    # A playground opened before the log-in still names the visitor: it records for the account.
    finish(owner, "two-clients")
    assert not LabRun.objects.filter(user=None).exists()
    assert load(owner) == load({"user": user.pk})
    assert load({"user": user.pk})["two-clients"]["finished"]


def card(page, slug) -> str:
    return page.split(f'href="/lessons/{slug}/"', 1)[1].split("</li>", 1)[0]


@pytest.mark.django_db(transaction=True)
def test_it_shows_read_quiz_and_lab_in_each_lessons_status_on_the_course_page(client, course):
    page = client.get("/").content.decode()
    assert "Lab: 0 of 2 experiments finished" in card(page, "the-5-tuple")
    assert "Lab" not in card(page, "introduction")  # no experiment: no lab status
    owner = visitor(client)
    finish(owner, "three-sockets")
    page = client.get("/").content.decode()
    assert "Lab: 1 of 2 experiments finished" in card(page, "the-5-tuple")
    record(owner, "two-clients", 3, 4, False)  # not finished: not counted
    assert "Lab: 1 of 2 experiments finished" in card(
        client.get("/").content.decode(), "the-5-tuple"
    )
    finish(owner, "two-clients")
    status = card(client.get("/").content.decode(), "the-5-tuple")
    # Read, its quiz not taken: said as read, not done (done is the quiz passed).
    assert re.search(r'class="status">Read</span>', status)
    assert re.search(r'class="status status-done">Lab done</span>', status)


@pytest.mark.django_db(transaction=True)
def test_it_counts_the_experiments_in_the_course_progress(client, course):
    steps = 11 + Experiment.objects.filter(published=True).count()
    owner = visitor(client, "/lessons/connections/")
    page = client.get("/").content.decode()
    assert re.search(rf'<progress [^>]*max="{steps}" value="1"', page)
    finish(owner, "udp-no-connection")
    page = client.get("/").content.decode()
    assert re.search(rf'<progress [^>]*max="{steps}" value="2"', page)
    # An unpublished experiment is no step of the course.
    Experiment.objects.filter(slug="udp-no-connection").update(published=False)
    Experiment.objects.get(slug="ports-stay").save()  # a new page generation
    page = client.get("/").content.decode()
    assert re.search(rf'<progress [^>]*max="{steps - 1}" value="1"', page)


def lab_state(page) -> str:
    return page.split("data-lab-state", 1)[1].split("</div>", 1)[0]


@pytest.mark.django_db(transaction=True)
def test_it_shows_the_lessons_lab_state_at_its_end(client, course):
    page = client.get(LESSON).content.decode()
    assert "Lab: 0 of 2 experiments finished." in lab_state(page)
    assert 'href="/playground/?experiment=three-sockets"' in lab_state(page)
    owner = visitor(client)
    finish(owner, "three-sockets")
    assert "Lab: 1 of 2 experiments finished." in lab_state(client.get(LESSON).content.decode())
    finish(owner, "two-clients")
    page = client.get(LESSON).content.decode()
    assert "Lab done: you finished every experiment of this lesson." in lab_state(page)
    assert 'data-lab-done="true"' in page
    assert "data-lab-state" not in client.get("/lessons/introduction/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_it_never_serves_one_readers_lab_state_to_another_from_the_cached_page(course):
    done, started, newcomer = Client(), Client(), Client()
    finish(visitor(done), "three-sockets")
    record(visitor(started), "three-sockets", 1, 3, False)  # read, the same lab state as none
    first = done.get(LESSON).content.decode()
    assert "Lab: 1 of 2 experiments finished." in lab_state(first)
    for other in (started, newcomer, started, newcomer):
        assert "Lab: 0 of 2 experiments finished." in lab_state(other.get(LESSON).content.decode())
    assert "Lab: 1 of 2 experiments finished." in lab_state(done.get(LESSON).content.decode())
    # Finishing another experiment shows at once, though the page was cached.
    finish({"learner": done.session["learner"]}, "two-clients")
    assert "Lab done" in lab_state(done.get(LESSON).content.decode())
    assert "Lab: 0 of 2" in lab_state(newcomer.get(LESSON).content.decode())


@pytest.mark.django_db(transaction=True)
def test_it_shows_an_experiment_published_in_the_admin_on_its_lesson_at_once(staff_client, course):
    reader = Client()  # the client fixture is the staff member's
    assert "Lab: 0 of 2" in lab_state(reader.get(LESSON).content.decode())
    experiment = Experiment.objects.get(slug="two-clients")
    url = f"/admin/labs/experiment/{experiment.pk}/change/"
    data = post_data(staff_client.get(url).content.decode())
    data.pop("published")
    assert staff_client.post(url, data).status_code == 302
    page = reader.get(LESSON).content.decode()
    assert "Lab: 0 of 1 experiment finished." in lab_state(page)
    assert "experiment=two-clients" not in lab_state(page)


@pytest.mark.django_db(transaction=True)
def test_it_shows_per_experiment_starts_finishes_and_stops_in_the_lab_analysis(
    staff_client, course
):
    steps = steps_of("ports-stay")
    for n, done in enumerate([0, 2, 2, 3]):
        record({"learner": f"{n:032d}"}, "ports-stay", done, steps, False)
    for n in range(4, 6):
        record({"learner": f"{n:032d}"}, "ports-stay", steps, steps, True)
    record({"learner": f"{9:032d}"}, "three-sockets", 1, 3, False)
    page = staff_client.get("/admin/labs/experiment/analysis/").content.decode()
    section = page.split('id="experiment-ports-stay"', 1)[1].split("</section>", 1)[0]
    assert "<strong data-started>6</strong> started" in section
    assert "<strong data-finished>2</strong> finished" in section
    stopped = dict(re.findall(r'data-step="(\d+)">.*?<td data-stopped>(\d+)</td>', section, re.S))
    assert stopped == {
        "1": "1",
        "2": "0",
        "3": "2",
        "4": "1",
        **{str(n): "0" for n in range(5, steps + 1)},
    }
    other = page.split('id="experiment-three-sockets"', 1)[1].split("</section>", 1)[0]
    assert "<strong data-started>1</strong> started" in other
    assert (
        'href="/admin/labs/experiment/analysis/"'
        in staff_client.get("/admin/labs/experiment/").content.decode()
    )


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_lab_analysis_from_students(student_client, course):
    response = student_client.get("/admin/labs/experiment/analysis/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
