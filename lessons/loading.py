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

from lessons import course_files
from lessons.models import GlossaryTerm, Lesson, rerender_lessons


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    only_in_database: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = []
        for kind in ("glossary term", "lesson"):
            parts = [
                f"{self.counts[(kind, outcome)]} {outcome}"
                for outcome in ("created", "updated", "unchanged", "skipped")
            ]
            lines.append(f"{kind.capitalize()}s: " + ", ".join(parts))
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
    slugs = {fields["slug"] for fields in lessons}
    report.only_in_database = [
        f"lesson '{slug}'"
        for slug in Lesson.objects.exclude(slug__in=slugs).values_list("slug", flat=True)
    ]
    return report


@transaction.atomic
def export_course(root: Path) -> list[Path]:
    written = []
    terms = list(GlossaryTerm.objects.all())
    written.append(course_files.write_glossary(root, [t.source_fields() for t in terms]))
    lessons = list(Lesson.objects.all())
    for lesson in lessons:
        written.append(course_files.write_lesson(root, lesson.source_fields()))
    # Files and database agree now, so nothing counts as an unexported edit.
    for obj in [*terms, *lessons]:
        type(obj).objects.filter(pk=obj.pk).update(loaded_hash=obj.content_hash())
    slugs = {lesson.slug for lesson in lessons}
    for path in course_files.lesson_paths(root):
        if path.stem not in slugs:
            path.unlink()
            written.append(path)
    return written
