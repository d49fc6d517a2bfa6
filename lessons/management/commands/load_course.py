from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lessons.course_files import CourseFileError
from lessons.loading import load_course


class Command(BaseCommand):
    help = (
        "Load the course (lessons, glossary, quizzes, experiments) from its content files. "
        "Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Overwrite records that staff edited in the admin since the last load.",
        )
        parser.add_argument("--content-dir", type=Path, default=settings.COURSE_CONTENT_DIR)

    def handle(self, *args, force, content_dir, **options):
        try:
            report = load_course(content_dir, force=force)
        except CourseFileError as exc:
            raise CommandError(f"Nothing was loaded: {exc}") from exc
        for line in report.lines():
            self.stdout.write(line)
