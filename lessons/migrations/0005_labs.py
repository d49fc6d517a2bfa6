import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('lessons', '0004_question_wrong_answers'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Experiment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=120)),
                ('slug', models.SlugField(help_text="Stable id: the name of its content file and of the lessons' “Try it” links.", max_length=80, unique=True, verbose_name='id')),
                ('anchor', models.CharField(blank=True, help_text='The id of the lesson heading this experiment belongs to, e.g. a-port-with-nothing-at-it.', max_length=120, verbose_name='section anchor')),
                ('order', models.PositiveIntegerField(db_index=True, default=0)),
                ('published', models.BooleanField(default=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('loaded_hash', models.CharField(blank=True, editable=False, max_length=64)),
                ('lesson', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='experiments', to='lessons.lesson')),
            ],
            options={
                'ordering': ['order', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='ExperimentStep',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('order', models.PositiveIntegerField(default=0)),
                ('text', models.TextField(help_text='Plain text: what to do, or what to look for.')),
                ('step_check', models.JSONField(verbose_name='check', help_text='What the sandbox must show, e.g. {"socket": {"device": "server", "port": 3000, "state": "LISTEN"}} (see docs/playground-protocol.md, labs).')),
                ('experiment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='steps', to='lessons.experiment')),
            ],
            options={
                'ordering': ['order', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='LabRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('learner_key', models.CharField(blank=True, db_index=True, max_length=32)),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('steps_done', models.PositiveSmallIntegerField(default=0)),
                ('steps', models.PositiveSmallIntegerField(default=0, help_text="The experiment's steps then.")),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('experiment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='lessons.experiment')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(condition=models.Q(('user__isnull', False)), fields=('user', 'experiment'), name='one_lab_run_per_user'), models.UniqueConstraint(condition=models.Q(('user__isnull', True)), fields=('learner_key', 'experiment'), name='one_lab_run_per_visitor')],
            },
        ),
        migrations.AddField(
            model_name='question',
            name='lab_steps',
            field=models.JSONField(blank=True, default=list, help_text='Lab only: the steps the learner\'s playground must have reached, in order, each {"text": ..., "check": ...}, as in an experiment. Graded on submit from the live sandbox; never shown on the quiz page.', verbose_name='lab steps'),
        ),
        migrations.AlterField(
            model_name='question',
            name='kind',
            field=models.CharField(choices=[('single', 'Single choice'), ('multiple', 'Multiple choice (select all that apply)'), ('true_false', 'True or false'), ('text', 'Short text'), ('number', 'Number'), ('lab', 'Lab (done in the playground, graded from its live state)')], default='single', max_length=12, verbose_name='type'),
        ),
        migrations.AddField(
            model_name='answer',
            name='lab_result',
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
