from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from lessons.loading import export_course


class Command(BaseCommand):
    help = "Write the course in the database back to its content files, ready to commit."

    def add_arguments(self, parser):
        parser.add_argument("--content-dir", type=Path, default=settings.COURSE_CONTENT_DIR)

    def handle(self, *args, content_dir, **options):
        for path in export_course(Path(content_dir)):
            action = "Wrote" if path.exists() else "Removed"
            self.stdout.write(f"{action} {path}")
