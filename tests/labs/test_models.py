"""Experiments as course content: loaded from their files like quizzes (idempotent, admin
edits kept unless forced, errors naming the file, the step and the field), exported back,
edited in the admin with every check validated, and followed by the engine's catalogue."""

from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from django.core.management import CommandError, call_command
from django.utils.html import escape

from labs.hooks import DjangoLabHooks
from labs.models import Experiment
from lessons.models import Lesson, Question
from tests.support.forms import post_data

EXPERIMENT = """\
title: Listen, then look
lesson: sockets
teaches: sockets#ports-and-sockets-are-not-the-same-thing
order: 90
published: true
steps:
  - text: Listen on server port 4100.
    check: {socket: {device: server, port: 4100, state: LISTEN}}
  - text: Connect from the laptop to server port 4100.
    check: {socket: {device: laptop, role: client, remote_port: 4100, state: ESTABLISHED}}
"""


def load(content_dir, *args) -> str:
    out = StringIO()
    call_command("load_course", "--content-dir", str(content_dir), *args, stdout=out)
    return out.getvalue()


def write(content_dir, slug, text):
    path = content_dir / "experiments" / f"{slug}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def files_in(content_dir) -> int:
    return len(list((content_dir / "experiments").glob("*.yaml")))


@pytest.mark.django_db
def test_it_loads_every_experiment_file_with_its_steps_in_order(content_dir):
    write(content_dir, "listen-then-look", EXPERIMENT)
    output = load(content_dir)
    assert f"Experiments: {files_in(content_dir)} created, 0 updated" in output
    experiment = Experiment.objects.get(slug="listen-then-look")
    assert experiment.lesson.slug == "sockets"
    assert experiment.anchor == "ports-and-sockets-are-not-the-same-thing"
    assert experiment.published and experiment.order == 90
    steps = list(experiment.steps.values_list("text", "step_check"))
    assert steps == [
        (
            "Listen on server port 4100.",
            {"socket": {"device": "server", "port": 4100, "state": "LISTEN"}},
        ),
        (
            "Connect from the laptop to server port 4100.",
            {
                "socket": {
                    "device": "laptop",
                    "role": "client",
                    "remote_port": 4100,
                    "state": "ESTABLISHED",
                }
            },
        ),
    ]


@pytest.mark.django_db
def test_it_loads_the_courses_own_experiments_each_linked_from_its_lesson(course, client):
    experiments = list(Experiment.objects.select_related("lesson"))
    assert len(experiments) >= 7
    for experiment in experiments:
        assert experiment.steps.exists(), experiment.slug
        page = client.get(experiment.lesson.get_absolute_url()).content.decode()
        assert f'id="{experiment.anchor}"' in page, experiment.slug
        assert f"/playground/?experiment={experiment.slug}" in page, experiment.slug


@pytest.mark.django_db
def test_it_changes_nothing_on_a_second_load(content_dir):
    write(content_dir, "listen-then-look", EXPERIMENT)
    load(content_dir)
    before = list(Experiment.objects.values_list("slug", "updated_at", "loaded_hash"))
    steps = list(Experiment.objects.values_list("steps__pk", "steps__text"))
    output = load(content_dir)
    count = files_in(content_dir)
    assert f"Experiments: 0 created, 0 updated, {count} unchanged, 0 skipped" in output
    assert list(Experiment.objects.values_list("slug", "updated_at", "loaded_hash")) == before
    assert list(Experiment.objects.values_list("steps__pk", "steps__text")) == steps


@pytest.mark.django_db
def test_it_updates_an_experiment_whose_file_changed(content_dir):
    path = write(content_dir, "listen-then-look", EXPERIMENT)
    load(content_dir)
    path.write_text(EXPERIMENT.replace("port: 4100, state: LISTEN", "port: 4200, state: LISTEN"))
    assert "Experiments: 0 created, 1 updated" in load(content_dir)
    first = Experiment.objects.get(slug="listen-then-look").steps.first()
    assert first.step_check["socket"]["port"] == 4200


@pytest.mark.django_db
def test_it_keeps_an_experiment_edited_in_the_admin_unless_forced(staff_client, content_dir):
    path = write(content_dir, "listen-then-look", EXPERIMENT)
    load(content_dir)
    experiment = Experiment.objects.get(slug="listen-then-look")
    url = f"/admin/labs/experiment/{experiment.pk}/change/"
    data = post_data(staff_client.get(url).content.decode())
    data["title"] = "Retitled by staff"
    assert staff_client.post(url, data).status_code == 302
    path.write_text(EXPERIMENT.replace("Listen, then look", "Retitled in the file"))
    output = load(content_dir)
    assert "Skipped experiment 'listen-then-look': edited in the admin" in output
    assert Experiment.objects.get(pk=experiment.pk).title == "Retitled by staff"
    assert "1 updated" in load(content_dir, "--force")
    assert Experiment.objects.get(pk=experiment.pk).title == "Retitled in the file"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "{device: server, port: 4100, state: LISTEN}",
            "{device: server, colour: red}",
            r"experiments/listen-then-look\.yaml, steps: Step 1's check: 'socket': 'colour' is no "
            "socket field",
        ),
        (
            "teaches: sockets#ports-and-sockets-are-not-the-same-thing",
            "teaches: sockets#no-such-section",
            r"experiments/listen-then-look\.yaml: teaches 'sockets#no-such-section', but that "
            r"lesson has no section 'no-such-section'",
        ),
        (
            "teaches: sockets#",
            "teaches: ports#",
            r"experiments/listen-then-look\.yaml: 'teaches' must be 'sockets#<section>'",
        ),
        (
            "order: 90",
            "order: 90\ncolour: red",
            r"listen-then-look\.yaml: unknown field\(s\): \['colour'\]",
        ),
        (
            "    check: {socket: {device: laptop",
            "    chek: {socket: {device: laptop",
            r"step 2: a step",
        ),
    ],
)
def test_it_refuses_a_broken_experiment_naming_the_file_and_loads_nothing(
    content_dir, old, new, message
):
    assert old in EXPERIMENT
    write(content_dir, "listen-then-look", EXPERIMENT.replace(old, new))
    with pytest.raises(CommandError, match=message):
        load(content_dir)
    assert not Lesson.objects.exists()
    assert not Experiment.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_lab_question_with_a_bad_check_naming_the_quiz_and_question(content_dir):
    path = content_dir / "quizzes" / "sockets-quiz.yaml"
    path.write_text(
        path.read_text()
        + """\
  - key: bad-lab
    kind: lab
    prompt: Do something.
    explanation: Because.
    teaches: sockets#ports-and-sockets-are-not-the-same-thing
    lab_steps:
      - text: A socket of no known kind.
        check: {sockett: {device: server}}
"""
    )
    with pytest.raises(
        CommandError,
        match=r"sockets-quiz\.yaml, question 'bad-lab': Lab steps: Step 1's check must have ",
    ):
        load(content_dir)
    assert not Question.objects.exists()


@pytest.mark.django_db
def test_it_exports_experiments_so_they_load_back_unchanged(staff_client, content_dir, tmp_path):
    write(content_dir, "listen-then-look", EXPERIMENT)
    load(content_dir)
    experiment = Experiment.objects.get(slug="listen-then-look")
    step = experiment.steps.last()
    step.text = "Connect from the laptop, as edited in the admin."
    step.save()
    out = tmp_path / "exported"
    call_command("export_course", "--content-dir", str(out), verbosity=0)
    text = (out / "experiments" / "listen-then-look.yaml").read_text()
    assert "Connect from the laptop, as edited in the admin." in text
    assert "check: {socket: {device: server, port: 4100, state: LISTEN}}" in text
    output = load(out)
    assert "Experiments: 0 created, 0 updated" in output and "Skipped" not in output
    exported = {e.slug: e.source_fields() for e in Experiment.objects.all()}
    Experiment.objects.all().delete()
    load(out)
    assert {e.slug: e.source_fields() for e in Experiment.objects.all()} == exported


@pytest.mark.django_db
def test_it_reports_experiments_only_in_the_database(content_dir, course):
    lesson = Lesson.objects.get(slug="sockets")
    Experiment.objects.create(slug="staff-draft", title="Draft", lesson=lesson)
    assert "Only in the database (left alone): experiment 'staff-draft'" in load(content_dir)
    assert Experiment.objects.filter(slug="staff-draft").exists()


def change_url(experiment):
    return f"/admin/labs/experiment/{experiment.pk}/change/"


@pytest.fixture
def experiment(content_dir):
    write(content_dir, "listen-then-look", EXPERIMENT)
    load(content_dir)
    return Experiment.objects.get(slug="listen-then-look")


@pytest.mark.django_db
def test_it_edits_an_experiment_and_its_steps_on_one_page_in_the_admin(staff_client, experiment):
    data = post_data(staff_client.get(change_url(experiment)).content.decode())
    data["steps-0-text"] = "Listen on server port 4300."
    data["steps-0-step_check"] = '{"socket": {"device": "server", "port": 4300, "state": "LISTEN"}}'
    data["steps-0-order"], data["steps-1-order"] = "2", "1"  # and swap the two
    response = staff_client.post(change_url(experiment), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    steps = list(experiment.steps.all())
    assert [s.text for s in steps][1] == "Listen on server port 4300."
    assert steps[1].step_check == {"socket": {"device": "server", "port": 4300, "state": "LISTEN"}}
    assert Experiment.objects.get(pk=experiment.pk).edited_since_load


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("check", "message"),
    [
        ('{"socket": {"device": "server", "port": 4100', "Enter a valid JSON."),
        ('{"socket": {"colour": "red"}}', "colour"),
        ('{"socket": {}, "no_socket": {}}', ""),
        ('"LISTEN"', ""),
    ],
)
def test_it_refuses_a_step_whose_check_is_not_valid_in_the_admin(
    staff_client, experiment, check, message
):
    before = experiment.content_hash()
    data = post_data(staff_client.get(change_url(experiment)).content.decode())
    data["steps-1-step_check"] = check
    response = staff_client.post(change_url(experiment), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="errorlist' in page
    assert escape(message) in page
    assert Experiment.objects.get(pk=experiment.pk).content_hash() == before  # nothing saved


@pytest.mark.django_db
def test_it_refuses_an_anchor_the_lesson_does_not_have_in_the_admin(staff_client, experiment):
    data = post_data(staff_client.get(change_url(experiment)).content.decode())
    data["anchor"] = "nowhere-in-this-lesson"
    response = staff_client.post(change_url(experiment), data)
    assert response.status_code == 200
    assert "has no section &#x27;nowhere-in-this-lesson&#x27;" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_it_gives_the_engine_an_admin_edit_at_once(staff_client, experiment):
    hooks = DjangoLabHooks()
    before = async_to_sync(hooks.catalogue)()
    mine = next(e for e in before if e["id"] == experiment.slug)
    assert mine["steps"][0]["text"] == "Listen on server port 4100."
    data = post_data(staff_client.get(change_url(experiment)).content.decode())
    data["steps-0-text"] = "Listen on server port 4100, as staff reworded it."
    assert staff_client.post(change_url(experiment), data).status_code == 302
    after = async_to_sync(hooks.catalogue)()
    mine = next(e for e in after if e["id"] == experiment.slug)
    assert mine["steps"][0]["text"] == "Listen on server port 4100, as staff reworded it."
    assert mine["lesson"] == "sockets"
    assert mine["teaches"] == "sockets#ports-and-sockets-are-not-the-same-thing"

    data.pop("published")
    assert staff_client.post(change_url(experiment), data).status_code == 302
    assert experiment.slug not in {e["id"] for e in async_to_sync(hooks.catalogue)()}
