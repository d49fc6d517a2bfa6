"""The labs' models, moved here from the lessons app with their tables and rows.

Rules: the tables keep their names (lessons_experiment, lessons_experimentstep,
lessons_labrun), so this migration changes Django's state only (CreateModel with no
database operation) and moves the models' content types (and with them staff
permissions and the admin's history) from the lessons app to this one. The lessons
app's 0008 takes the models out of its state after this one.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MODELS = ("experiment", "experimentstep", "labrun")


def _move_content_types(apps, source: str, target: str) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects
    for model in MODELS:
        if not content_types.filter(app_label=target, model=model).exists():
            content_types.filter(app_label=source, model=model).update(app_label=target)


def content_types_to_labs(apps, schema_editor):
    _move_content_types(apps, "lessons", "labs")


def content_types_to_lessons(apps, schema_editor):
    _move_content_types(apps, "labs", "lessons")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("lessons", "0007_quiz_key_on_request_after_two_attempts"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Experiment",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("title", models.CharField(max_length=120)),
                        (
                            "slug",
                            models.SlugField(
                                help_text="Stable id: the name of its content file and of the lessons' “Try it” links.",
                                max_length=80,
                                unique=True,
                                verbose_name="id",
                            ),
                        ),
                        (
                            "anchor",
                            models.CharField(
                                blank=True,
                                help_text="The id of the lesson heading this experiment belongs to, e.g. a-port-with-nothing-at-it.",
                                max_length=120,
                                verbose_name="section anchor",
                            ),
                        ),
                        ("order", models.PositiveIntegerField(db_index=True, default=0)),
                        ("published", models.BooleanField(default=False)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "loaded_hash",
                            models.CharField(blank=True, editable=False, max_length=64),
                        ),
                        (
                            "lesson",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="experiments",
                                to="lessons.lesson",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "lessons_experiment",
                        "ordering": ["order", "pk"],
                    },
                ),
                migrations.CreateModel(
                    name="ExperimentStep",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("order", models.PositiveIntegerField(default=0)),
                        (
                            "text",
                            models.TextField(
                                help_text="Plain text: what to do, or what to look for; never its result (that is for the explanation)."
                            ),
                        ),
                        (
                            "prediction",
                            models.JSONField(
                                blank=True,
                                default=dict,
                                help_text="Asked before the learner acts: {prompt, choices, answer} (answer counted from 0), or {} for none.",
                            ),
                        ),
                        (
                            "explain",
                            models.TextField(
                                blank=True,
                                help_text="Plain text: what the step showed, and why. Shown only once the step is done.",
                                verbose_name="explanation",
                            ),
                        ),
                        (
                            "step_check",
                            models.JSONField(
                                help_text='What the sandbox must show, e.g. {"socket": {"device": "server", "port": 3000, "state": "LISTEN"}} (see docs/playground-protocol.md, labs).',
                                verbose_name="check",
                            ),
                        ),
                        (
                            "experiment",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="steps",
                                to="labs.experiment",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "lessons_experimentstep",
                        "ordering": ["order", "pk"],
                    },
                ),
                migrations.CreateModel(
                    name="LabRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("learner_key", models.CharField(blank=True, db_index=True, max_length=32)),
                        ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("steps_done", models.PositiveSmallIntegerField(default=0)),
                        (
                            "steps",
                            models.PositiveSmallIntegerField(
                                default=0, help_text="The experiment's steps then."
                            ),
                        ),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("predictions", models.JSONField(blank=True, default=dict)),
                        (
                            "experiment",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="runs",
                                to="labs.experiment",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "lessons_labrun",
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("user__isnull", False)),
                                fields=("user", "experiment"),
                                name="one_lab_run_per_user",
                            ),
                            models.UniqueConstraint(
                                condition=models.Q(("user__isnull", True)),
                                fields=("learner_key", "experiment"),
                                name="one_lab_run_per_visitor",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_labs, content_types_to_lessons),
    ]
