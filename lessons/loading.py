"""Load the course files into the database, and export it back.

Rules: loading is idempotent (a second load changes nothing and touches no
timestamps); a record edited in the admin since it was last loaded is never
overwritten unless `force` is given; records that exist only in the database
are reported, never deleted.
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from lessons import course_files, grading, markdown, page_cache, quiz_rules
from lessons.course_files import CourseFileError
from lessons.models import Choice, GlossaryTerm, Lesson, Question, Quiz, rerender_lessons
from lessons.models.course import hash_fields


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    only_in_database: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = []
        for kind in ("glossary term", "lesson", "quiz"):
            parts = [
                f"{self.counts[(kind, outcome)]} {outcome}"
                for outcome in ("created", "updated", "unchanged", "skipped")
            ]
            plural = "Quizzes" if kind == "quiz" else f"{kind.capitalize()}s"
            lines.append(f"{plural}: " + ", ".join(parts))
        lines += [
            f"Skipped {name}: edited in the admin since it was loaded "
            "(run export_course to keep the edit, or load_course --force to discard it)"
            for name in self.skipped
        ]
        lines += [f"Only in the database (left alone): {name}" for name in self.only_in_database]
        return lines


def _sync(model, kind: str, fields: dict, force: bool, report: Report):
    obj = model.objects.filter(slug=fields["slug"]).first()
    if obj is None:
        obj = model(**fields)
        obj.save()
        obj.loaded_hash = obj.content_hash()
        model.objects.filter(pk=obj.pk).update(loaded_hash=obj.loaded_hash)
        report.counts[(kind, "created")] += 1
        return "created"
    current = obj.content_hash()
    for name, value in fields.items():
        setattr(obj, name, value)
    wanted = obj.content_hash()
    if current == wanted:
        if obj.loaded_hash != wanted:
            model.objects.filter(pk=obj.pk).update(loaded_hash=wanted)
        report.counts[(kind, "unchanged")] += 1
        return "unchanged"
    if obj.loaded_hash != current and not force:
        report.counts[(kind, "skipped")] += 1
        report.skipped.append(f"{kind} '{fields['slug']}'")
        return "skipped"
    obj.loaded_hash = wanted
    obj.save()
    report.counts[(kind, "updated")] += 1
    return "updated"


@transaction.atomic
def load_course(root: Path, force: bool = False) -> Report:
    # Read everything first: a broken file aborts before anything is written.
    glossary = course_files.read_glossary(root)
    lessons = course_files.read_lessons(root)
    quizzes = course_files.read_quizzes(root)
    report = Report()
    glossary_changed = False
    for fields in glossary:
        outcome = _sync(GlossaryTerm, "glossary term", fields, force, report)
        glossary_changed |= outcome in ("created", "updated")
    # Lessons saved below render with the new glossary already; the others
    # still hold HTML linked against the old one.
    if glossary_changed:
        rerender_lessons()
    for fields in lessons:
        _sync(Lesson, "lesson", fields, force, report)
    # Anchors are checked against the lesson files, the source of truth, so a
    # lesson reworded in the admin does not block loading the quizzes.
    sections = {slug: set() for slug in Lesson.objects.values_list("slug", flat=True)}
    for fields in lessons:
        sections[fields["slug"]] = {entry["id"] for entry in markdown.render(fields["body"]).toc}
    for fields in quizzes:
        _check_quiz(fields, sections)
        _sync_quiz(fields, force, report)
    slugs = {fields["slug"] for fields in lessons}
    report.only_in_database = [
        f"lesson '{slug}'"
        for slug in Lesson.objects.exclude(slug__in=slugs).values_list("slug", flat=True)
    ]
    page_cache.new_generation()  # rerender_lessons() and update() send no signals
    return report


def _check_quiz(fields: dict, sections: dict[str, set[str]]) -> None:
    """Apply the admin's rules to a quiz file, naming the file and the question."""
    name = f"quizzes/{fields['slug']}.yaml"
    if fields["lesson"] and fields["lesson"] not in sections:
        raise CourseFileError(f"{name}: no lesson '{fields['lesson']}'")
    for question in fields["questions"]:
        where = f"{name}, question '{question['key']}'"
        choices = [(c["text"], c["correct"]) for c in _choices(question)]
        errors = quiz_rules.question_errors(
            question["kind"], choices, question.get("accepted", ()), question.get("answer")
        )
        errors += grading.wrong_answer_errors(
            question["kind"],
            question.get("wrong_answers"),
            question.get("accepted", ()),
            question.get("answer"),
            question.get("tolerance", 0),
        )
        if errors:
            raise CourseFileError(f"{where}: {' '.join(errors)}")
        slug, _, anchor = question["teaches"].partition("#")
        if slug and slug not in sections:
            raise CourseFileError(f"{where}: teaches '{slug}', but there is no such lesson")
        if anchor and anchor not in sections[slug]:
            raise CourseFileError(
                f"{where}: teaches '{question['teaches']}', but that lesson has no section "
                f"'{anchor}'"
            )


def _choices(question: dict) -> list[dict]:
    if question["kind"] == "true_false":
        return [
            {
                "text": "True",
                "correct": question["answer"],
                "feedback": question["feedback"]["true"],
            },
            {
                "text": "False",
                "correct": not question["answer"],
                "feedback": question["feedback"]["false"],
            },
        ]
    return question.get("choices", [])


def _sync_quiz(fields: dict, force: bool, report: Report) -> None:
    slug = fields["slug"]
    wanted = hash_fields({k: v for k, v in fields.items() if k != "slug"})
    quiz = Quiz.objects.filter(slug=slug).first()
    if quiz is not None:
        current = quiz.content_hash()
        if current == wanted:
            if quiz.loaded_hash != wanted:
                Quiz.objects.filter(pk=quiz.pk).update(loaded_hash=wanted)
            report.counts[("quiz", "unchanged")] += 1
            return
        if quiz.loaded_hash != current and not force:
            report.counts[("quiz", "skipped")] += 1
            report.skipped.append(f"quiz '{slug}'")
            return
    outcome = "created" if quiz is None else "updated"
    quiz = _apply_quiz(quiz or Quiz(slug=slug), fields)
    Quiz.objects.filter(pk=quiz.pk).update(loaded_hash=quiz.content_hash())
    report.counts[("quiz", outcome)] += 1


def _apply_quiz(quiz: Quiz, fields: dict) -> Quiz:
    for name in course_files.QUIZ_FIELDS:
        if name not in ("lesson", "questions"):
            setattr(quiz, name, fields[name])
    quiz.lesson = Lesson.objects.get(slug=fields["lesson"]) if fields["lesson"] else None
    quiz.save()
    # Questions are matched by key and updated in place, so past attempts keep them.
    existing = {q.key: q for q in quiz.questions.all()}
    lessons = {lesson.slug: lesson for lesson in Lesson.objects.only("slug")}
    for order, data in enumerate(fields["questions"]):
        question = existing.pop(data["key"], None) or Question(quiz=quiz, key=data["key"])
        slug, _, anchor = data["teaches"].partition("#")
        question.order = order
        question.kind = data["kind"]
        question.prompt = data["prompt"]
        question.hint = data["hint"]
        question.explanation = data["explanation"]
        question.lesson = lessons.get(slug)
        question.anchor = anchor
        question.accepted = data.get("accepted", [])
        question.number_answer = data["answer"] if data["kind"] == "number" else None
        question.tolerance = data.get("tolerance", 0.0)
        question.wrong_answers = data.get("wrong_answers", [])
        question.save()
        _sync_choices(question, _choices(data))
    for question in existing.values():
        question.delete()
    return Quiz.objects.prefetch_related("questions__choices", "questions__lesson").get(pk=quiz.pk)


def _sync_choices(question: Question, wanted: list[dict]) -> None:
    current = list(question.choices.all())
    for order, data in enumerate(wanted):
        choice = current[order] if order < len(current) else Choice(question=question)
        choice.text, choice.is_correct = data["text"], data["correct"]
        choice.feedback, choice.order = data["feedback"], order
        choice.save()
    for choice in current[len(wanted) :]:
        choice.delete()


@transaction.atomic
def export_course(root: Path) -> list[Path]:
    written = []
    terms = list(GlossaryTerm.objects.all())
    written.append(course_files.write_glossary(root, [t.source_fields() for t in terms]))
    lessons = list(Lesson.objects.all())
    for lesson in lessons:
        written.append(course_files.write_lesson(root, lesson.source_fields()))
    quizzes = list(Quiz.objects.prefetch_related("questions__choices", "questions__lesson"))
    for quiz in quizzes:
        written.append(course_files.write_quiz(root, quiz.slug, quiz.source_fields()))
    # Files and database agree now, so nothing counts as an unexported edit.
    for obj in [*terms, *lessons, *quizzes]:
        type(obj).objects.filter(pk=obj.pk).update(loaded_hash=obj.content_hash())
    slugs = {lesson.slug for lesson in lessons}
    stale = [p for p in course_files.lesson_paths(root) if p.stem not in slugs]
    quiz_slugs = {quiz.slug for quiz in quizzes}
    stale += [p for p in course_files.quiz_paths(root) if p.stem not in quiz_slugs]
    for path in stale:
        path.unlink()
        written.append(path)
    return written
