import filecmp

import pytest
from django.core.management import CommandError, call_command

from lessons.models import GlossaryTerm, Lesson


def load(content_dir, *args):
    from io import StringIO

    out = StringIO()
    call_command("load_course", "--content-dir", str(content_dir), *args, stdout=out)
    return out.getvalue()


def edit_file(content_dir, slug, old, new):
    path = content_dir / "lessons" / f"{slug}.md"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.django_db
def test_it_loads_the_course_in_order(content_dir):
    output = load(content_dir)
    assert "Lessons: 5 created" in output
    assert list(Lesson.objects.values_list("slug", flat=True)) == [
        "introduction",
        "connections",
        "ports",
        "sockets",
        "the-5-tuple",
    ]
    assert GlossaryTerm.objects.filter(slug="5-tuple").exists()


@pytest.mark.django_db
def test_it_changes_nothing_on_a_second_load(content_dir):
    load(content_dir)
    before = list(Lesson.objects.values_list("slug", "updated_at", "body_html"))
    terms_before = list(GlossaryTerm.objects.values_list("slug", "updated_at"))
    output = load(content_dir)
    assert "Lessons: 0 created, 0 updated, 5 unchanged, 0 skipped" in output
    assert "Glossary terms: 0 created, 0 updated" in output
    assert list(Lesson.objects.values_list("slug", "updated_at", "body_html")) == before
    assert list(GlossaryTerm.objects.values_list("slug", "updated_at")) == terms_before


@pytest.mark.django_db
def test_it_updates_a_lesson_whose_file_changed(content_dir):
    load(content_dir)
    edit_file(content_dir, "ports", "title: Ports", "title: Ports and addresses")
    output = load(content_dir)
    assert "Lessons: 0 created, 1 updated, 4 unchanged" in output
    assert Lesson.objects.get(slug="ports").title == "Ports and addresses"


@pytest.mark.django_db
def test_it_keeps_a_lesson_edited_in_the_admin(content_dir):
    load(content_dir)
    lesson = Lesson.objects.get(slug="ports")
    lesson.title = "Ports, edited by staff"
    lesson.save()
    edit_file(content_dir, "ports", "title: Ports", "title: Ports from the file")
    output = load(content_dir)
    assert "Skipped lesson 'ports': edited in the admin" in output
    assert Lesson.objects.get(slug="ports").title == "Ports, edited by staff"


@pytest.mark.django_db
def test_it_overwrites_an_admin_edit_only_with_force(content_dir):
    load(content_dir)
    lesson = Lesson.objects.get(slug="ports")
    lesson.body = "Staff rewrote this."
    lesson.save()
    load(content_dir)
    assert Lesson.objects.get(slug="ports").body == "Staff rewrote this."
    output = load(content_dir, "--force")
    assert "1 updated" in output
    assert "Ports are to the processes" in Lesson.objects.get(slug="ports").body


@pytest.mark.django_db
def test_it_exports_admin_edits_so_they_load_back_unchanged(content_dir, tmp_path):
    load(content_dir)
    lesson = Lesson.objects.get(slug="sockets")
    lesson.body += "\n\nA paragraph written in the admin."
    lesson.published = False
    lesson.save()
    term = GlossaryTerm.objects.get(slug="tcp")
    term.definition = "Edited definition."
    term.save()
    call_command("export_course", "--content-dir", str(content_dir), verbosity=0)

    text = (content_dir / "lessons" / "sockets.md").read_text()
    assert "A paragraph written in the admin." in text
    assert "published: false" in text
    output = load(content_dir)
    assert "0 updated" in output and "Skipped" not in output

    # A fresh database loaded from the exported files holds the same course.
    exported = {item.slug: item.source_fields() for item in Lesson.objects.all()}
    Lesson.objects.all().delete()
    GlossaryTerm.objects.all().delete()
    load(content_dir)
    assert {item.slug: item.source_fields() for item in Lesson.objects.all()} == exported
    assert GlossaryTerm.objects.get(slug="tcp").definition == "Edited definition."


@pytest.mark.django_db
def test_it_exports_an_unedited_course_byte_for_byte(content_dir, tmp_path):
    load(content_dir)
    out = tmp_path / "exported"
    call_command("export_course", "--content-dir", str(out), verbosity=0)
    assert filecmp.cmp(content_dir / "glossary.yaml", out / "glossary.yaml", shallow=False)
    files = [*(content_dir / "lessons").glob("*.md"), *(content_dir / "quizzes").glob("*.yaml")]
    assert len(files) == 11
    for path in files:
        exported = out / path.parent.name / path.name
        assert path.read_text() == exported.read_text(), path.name


@pytest.mark.django_db
def test_it_rejects_a_broken_file_and_loads_nothing(content_dir):
    edit_file(content_dir, "ports", "title: Ports\n", "")
    with pytest.raises(CommandError, match=r"ports\.md: front matter needs 'title'"):
        load(content_dir)
    assert not Lesson.objects.exists()
    assert not GlossaryTerm.objects.exists()


@pytest.mark.django_db
def test_it_leaves_lessons_that_exist_only_in_the_database(content_dir):
    load(content_dir)
    Lesson.objects.create(title="Staff draft", slug="draft", order=99, summary="s", body="b")
    output = load(content_dir)
    assert "Only in the database (left alone): lesson 'draft'" in output
    assert Lesson.objects.filter(slug="draft").exists()


@pytest.mark.django_db
def test_it_relinks_lessons_when_the_glossary_file_gains_a_term(content_dir):
    load(content_dir)
    assert "/glossary/#loading-dock" not in Lesson.objects.get(slug="sockets").body_html
    with (content_dir / "glossary.yaml").open("a") as f:
        f.write("- term: loading dock\n  slug: loading-dock\n  definition: A port, pictured.\n")
    load(content_dir)
    assert "/glossary/#loading-dock" in Lesson.objects.get(slug="sockets").body_html


def edit_quiz(content_dir, slug, old, new):
    path = content_dir / "quizzes" / f"{slug}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.django_db
def test_it_loads_feedback_for_predictable_wrong_answers(content_dir):
    from lessons.models import Question

    load(content_dir)
    key = "ephemeral-ports-per-destination"
    wrong = {w["answer"]: w["feedback"] for w in Question.objects.get(key=key).wrong_answers}
    assert "highest port number" in wrong[65535.0]
    edit_quiz(content_dir, "course-quiz", "    - answer: 65535\n", "    - answer: 65534\n")
    assert "Quizzes: 0 created, 1 updated" in load(content_dir)
    answers = [w["answer"] for w in Question.objects.get(key=key).wrong_answers]
    assert 65534 in answers and 65535 not in answers


@pytest.mark.django_db
def test_it_refuses_a_wrong_answer_that_would_be_graded_right(content_dir):
    edit_quiz(content_dir, "course-quiz", "    - answer: 65535\n", "    - answer: 28232\n")
    question = r"course-quiz\.yaml, question 'ephemeral-ports-per-destination'"
    with pytest.raises(CommandError, match=question):
        load(content_dir)
    assert not Lesson.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_wrong_answer_without_feedback(content_dir):
    path = content_dir / "quizzes" / "ports-quiz.yaml"
    text = path.read_text()
    start = text.index("  - key: port-zero")
    block = text[start:]
    path.write_text(
        text[:start] + block.replace("      feedback: 65535 is", "      note: 65535 is", 1)
    )
    with pytest.raises(CommandError, match=r"'port-zero': each wrong answer needs"):
        load(content_dir)
