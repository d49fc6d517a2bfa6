"""The labs' models leave the lessons app's state; their tables and rows stay (labs 0001).

Rules: state only (no database operation), and after the labs app's 0001 has taken
the models into its state, so the tables are never without a model.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("lessons", "0007_quiz_key_on_request_after_two_attempts"),
        ("labs", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="LabRun"),
                migrations.DeleteModel(name="ExperimentStep"),
                migrations.DeleteModel(name="Experiment"),
            ],
            database_operations=[],
        ),
    ]
