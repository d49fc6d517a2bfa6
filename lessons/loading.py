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

from labs.models import Experiment, ExperimentStep
from lessons import course_files, grading, markdown, quiz_rules
from lessons.course_files import CourseFileError
from lessons.models import (
    Choice,
    GlossaryTerm,
    Lesson,
    Question,
    Quiz,
    rerender_lessons,
)
from sockets_site import page_cache
from sockets_site.models_base import hash_fields


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    only_in_database: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = []
        for kind in ("glossary term", "lesson", "quiz", "experiment"):
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
    experiments = course_files.read_experiments(root)
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
        _sync_nested("quiz", Quiz.objects.all(), fields, force, report, _apply_quiz)
    for fields in experiments:
        _check_experiment(fields, sections)
        _sync_nested(
            "experiment",
            Experiment.objects.select_related("lesson"),
            fields,
            force,
            report,
            _apply_experiment,
        )
    slugs = {fields["slug"] for fields in lessons}
    report.only_in_database = [
        f"lesson '{slug}'"
        for slug in Lesson.objects.exclude(slug__in=slugs).values_list("slug", flat=True)
    ]
    ids = {fields["slug"] for fields in experiments}
    report.only_in_database += [
        f"experiment '{slug}'"
        for slug in Experiment.objects.exclude(slug__in=ids).values_list("slug", flat=True)
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
        errors = quiz_rules.answer_errors(
            question["kind"],
            question.get("accepted", ()),
            question.get("answer"),
            question.get("lab_steps"),
        )
        errors += quiz_rules.choice_errors(question["kind"], choices)
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


def _sync_nested(kind: str, queryset, fields: dict, force: bool, report: Report, apply) -> None:
    """As _sync, for a quiz or an experiment, whose parts (questions, steps) come with it:
    unchanged touches nothing; one edited in the admin since it was loaded (its content
    no longer what was loaded) is kept unless forced; else `apply(item, fields)` writes
    it, and what it wrote is remembered as loaded."""
    slug = fields["slug"]
    wanted = hash_fields({k: v for k, v in fields.items() if k != "slug"})
    item = queryset.filter(slug=slug).first()
    if item is not None:
        current = item.content_hash()
        if current == wanted:
            if item.loaded_hash != wanted:
                queryset.model.objects.filter(pk=item.pk).update(loaded_hash=wanted)
            report.counts[(kind, "unchanged")] += 1
            return
        if item.loaded_hash != current and not force:
            report.counts[(kind, "skipped")] += 1
            report.skipped.append(f"{kind} '{slug}'")
            return
    outcome = "created" if item is None else "updated"
    item = apply(item or queryset.model(slug=slug), fields)
    queryset.model.objects.filter(pk=item.pk).update(loaded_hash=item.content_hash())
    report.counts[(kind, outcome)] += 1


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
        question.lab_steps = data.get("lab_steps", [])
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


def _check_experiment(fields: dict, sections: dict[str, set[str]]) -> None:
    """The admin's rules for an experiment file, naming the file, the step and the field."""
    name = f"experiments/{fields['slug']}.yaml"
    if fields["lesson"] not in sections:
        raise CourseFileError(f"{name}: no lesson '{fields['lesson']}'")
    anchor = fields["teaches"].partition("#")[2]
    if anchor and anchor not in sections[fields["lesson"]]:
        raise CourseFileError(
            f"{name}: teaches '{fields['teaches']}', but that lesson has no section '{anchor}'"
        )
    errors = quiz_rules.lab_steps_errors(fields["steps"], experiment=True)
    if errors:
        raise CourseFileError(f"{name}, steps: {' '.join(errors)}")


def _apply_experiment(experiment: Experiment, fields: dict) -> Experiment:
    experiment.title = fields["title"]
    experiment.lesson = Lesson.objects.get(slug=fields["lesson"])
    experiment.anchor = fields["teaches"].partition("#")[2]
    experiment.order = fields["order"]
    experiment.published = fields["published"]
    experiment.save()
    # Steps are matched by position and updated in place; runs count steps, not rows.
    current_steps = list(experiment.steps.all())
    for order, data in enumerate(fields["steps"]):
        if order < len(current_steps):
            step = current_steps[order]
        else:
            step = ExperimentStep(experiment=experiment)
        step.order, step.text, step.step_check = order, data["text"], data["check"]
        step.prediction, step.explain = data.get("predict", {}), data.get("explain", "")
        step.save()
    for step in current_steps[len(fields["steps"]) :]:
        step.delete()
    return experiment


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
    experiments = list(Experiment.objects.select_related("lesson").prefetch_related("steps"))
    for experiment in experiments:
        fields = experiment.source_fields()
        written.append(course_files.write_experiment(root, experiment.slug, fields))
    # Files and database agree now, so nothing counts as an unexported edit.
    for obj in [*terms, *lessons, *quizzes, *experiments]:
        type(obj).objects.filter(pk=obj.pk).update(loaded_hash=obj.content_hash())
    slugs = {lesson.slug for lesson in lessons}
    stale = [p for p in course_files.lesson_paths(root) if p.stem not in slugs]
    quiz_slugs = {quiz.slug for quiz in quizzes}
    stale += [p for p in course_files.quiz_paths(root) if p.stem not in quiz_slugs]
    ids = {experiment.slug for experiment in experiments}
    stale += [p for p in course_files.experiment_paths(root) if p.stem not in ids]
    for path in stale:
        path.unlink()
        written.append(path)
    return written
