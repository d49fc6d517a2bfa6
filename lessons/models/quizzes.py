import json

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.safestring import mark_safe

from lessons import grading, markdown, quiz_rules
from lessons.models.course import Lesson
from playground.labs import checks as lab_checks
from sockets_site.models_base import CourseItem


class Quiz(CourseItem):
    class Counts(models.TextChoices):
        HIGHEST = "highest", "The highest score"
        LAST = "last", "The last attempt"

    slug = models.SlugField(max_length=80, unique=True)
    lesson = models.OneToOneField(
        Lesson,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="quiz",
        help_text="The lesson this quiz checks; leave empty for the course quiz.",
    )
    description = models.CharField(max_length=300, blank=True)
    pass_mark = models.PositiveSmallIntegerField(
        default=70,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Percent needed to pass. Passing a lesson's quiz also marks the lesson read.",
    )
    max_attempts = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Leave empty for unlimited attempts.",
    )
    counts = models.CharField(
        "attempt that counts", max_length=10, choices=Counts, default=Counts.HIGHEST
    )
    show_answers = models.CharField(
        "show the answer key",
        max_length=10,
        choices=[
            (
                quiz_rules.KEY_AUTO,
                "Automatic: after the last attempt if attempts are limited; otherwise "
                "once passed, or after two attempts if the learner asks",
            ),
            (quiz_rules.KEY_EVERY, "After every attempt"),
            (quiz_rules.KEY_LAST, "After the last allowed attempt"),
            (quiz_rules.KEY_PASSED, "Once passed (or when no attempts are left)"),
        ],
        default=quiz_rules.KEY_AUTO,
        help_text="Until then a learner sees which answers were right or wrong and the feedback "
        "on what they chose, but not the right answers or the explanations.",
    )

    class Meta(CourseItem.Meta):
        verbose_name_plural = "quizzes"

    def get_absolute_url(self):
        return reverse("lessons:quiz", args=[self.slug])

    def source_fields(self) -> dict:
        """The quiz with its questions and choices, as the content file holds it."""
        fields = {
            "title": self.title,
            "lesson": self.lesson.slug if self.lesson_id else None,
            "order": self.order,
            "description": self.description,
            "pass_mark": self.pass_mark,
            "max_attempts": self.max_attempts,
            "counts": self.counts,
            "show_answers": self.show_answers,
            "published": self.published,
        }
        fields["questions"] = [q.source_fields() for q in self.questions.all()]
        return fields

    def clean(self):
        errors = quiz_rules.quiz_errors(self.max_attempts, self.show_answers)
        if errors:
            raise ValidationError({"show_answers": errors})

    def answer_key_shown(self, passed: bool, left, used=0, asked=False) -> bool:
        return quiz_rules.answer_key_shown(
            self.show_answers, self.max_attempts, passed, left, used, asked
        )

    def may_ask_for_key(self, used: int) -> bool:
        return quiz_rules.may_ask(self.show_answers, self.max_attempts, used)

    @property
    def key_on_request(self) -> bool:
        """Whether a learner may ask for the key (after quiz_rules.ASK_AFTER attempts)."""
        return quiz_rules.key_rule(self.show_answers, self.max_attempts) == quiz_rules.KEY_ASKED

    @property
    def answer_key_policy(self) -> str:
        return quiz_rules.key_policy(self.show_answers, self.max_attempts)


class Question(models.Model):
    class Kind(models.TextChoices):
        SINGLE = quiz_rules.SINGLE, "Single choice"
        MULTIPLE = quiz_rules.MULTIPLE, "Multiple choice (select all that apply)"
        TRUE_FALSE = quiz_rules.TRUE_FALSE, "True or false"
        TEXT = quiz_rules.TEXT, "Short text"
        NUMBER = quiz_rules.NUMBER, "Number"
        LAB = quiz_rules.LAB, "Lab (done in the playground, graded from its live state)"

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(
        max_length=80, help_text="Stable name within the quiz, used by the content files."
    )
    order = models.PositiveIntegerField(default=0)
    kind = models.CharField("type", max_length=12, choices=Kind, default=Kind.SINGLE)
    prompt = models.TextField(help_text="Markdown (inline formatting).")
    hint = models.CharField(
        max_length=300, blank=True, help_text="Optional; students may reveal it before answering."
    )
    explanation = models.TextField(help_text="Shown after the attempt is submitted.")
    lesson = models.ForeignKey(
        Lesson,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="taught in lesson",
    )
    anchor = models.CharField(
        "section anchor",
        max_length=120,
        blank=True,
        help_text="The id of the lesson heading that teaches this, e.g. finding-the-process.",
    )
    accepted = models.JSONField(
        "accepted answers",
        default=list,
        blank=True,
        help_text='Short text only: a list such as ["TCP", "Transmission Control Protocol"]; '
        "compared ignoring case, spacing, punctuation, curly quotes, leading articles and "
        "simple plurals.",
    )
    number_answer = models.FloatField("correct number", null=True, blank=True)
    tolerance = models.FloatField(
        default=0, validators=[MinValueValidator(0)], help_text="Number only: allowed difference."
    )
    wrong_answers = models.JSONField(
        "feedback on wrong answers",
        default=list,
        blank=True,
        help_text="Short text and number only: predictable wrong answers, each with what to tell "
        'the learner who gives it, e.g. [{"answer": 65535, "feedback": "0 counts too."}].',
    )
    lab_steps = models.JSONField(
        "lab steps",
        default=list,
        blank=True,
        help_text="Lab only: the steps the learner's playground must have reached, in order, "
        'each {"text": ..., "check": ...}, as in an experiment. Graded on submit from the '
        "live sandbox; never shown on the quiz page.",
    )

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["quiz", "key"], name="unique_question_key_per_quiz")
        ]

    def __str__(self):
        return self.prompt[:80]

    @property
    def prompt_html(self):
        return mark_safe(markdown.render_inline(self.prompt))  # noqa: S308 - sanitised by nh3

    @property
    def teaches(self) -> str:
        if not self.lesson_id:
            return ""
        return f"{self.lesson.slug}#{self.anchor}" if self.anchor else self.lesson.slug

    @property
    def teaches_url(self) -> str:
        if not self.lesson_id:
            return ""
        url = self.lesson.get_absolute_url()
        return f"{url}#{self.anchor}" if self.anchor else url

    @property
    def lab_steps_described(self) -> list[dict]:
        """For staff (the preview): each step with its check as JSON and in words."""
        return [
            {
                "text": step["text"],
                "check": json.dumps(step["check"], ensure_ascii=False),
                "needs": lab_checks.describe(step["check"]),
            }
            for step in self.lab_steps
        ]

    def clean(self):
        errors = quiz_rules.answer_errors(
            self.kind, self.accepted, self.number_answer, self.lab_steps
        )
        errors += grading.wrong_answer_errors(
            self.kind, self.wrong_answers, self.accepted, self.number_answer, self.tolerance or 0
        )
        if errors:
            raise ValidationError(errors)

    def source_fields(self) -> dict:
        fields = {
            "key": self.key,
            "kind": self.kind,
            "prompt": self.prompt,
            "hint": self.hint,
            "explanation": self.explanation,
            "teaches": self.teaches,
        }
        if self.kind == self.Kind.TRUE_FALSE:
            choices = {c.text: c for c in self.choices.all()}
            fields["answer"] = bool(choices.get("True") and choices["True"].is_correct)
            fields["feedback"] = {
                "true": choices["True"].feedback if "True" in choices else "",
                "false": choices["False"].feedback if "False" in choices else "",
            }
        elif self.kind in (self.Kind.SINGLE, self.Kind.MULTIPLE):
            fields["choices"] = [
                {"text": c.text, "correct": c.is_correct, "feedback": c.feedback}
                for c in self.choices.all()
            ]
        elif self.kind == self.Kind.TEXT:
            fields["accepted"] = list(self.accepted)
        elif self.kind == self.Kind.NUMBER:
            fields["answer"] = self.number_answer
            fields["tolerance"] = float(self.tolerance)
        elif self.kind == self.Kind.LAB:
            fields["lab_steps"] = [{"text": s["text"], "check": s["check"]} for s in self.lab_steps]
        # Only when present, so questions without any keep the hash they were loaded with.
        if self.kind in (self.Kind.TEXT, self.Kind.NUMBER) and self.wrong_answers:
            number = self.kind == self.Kind.NUMBER
            fields["wrong_answers"] = [
                {"answer": float(w["answer"]) if number else w["answer"], "feedback": w["feedback"]}
                for w in self.wrong_answers
            ]
        return fields


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(max_length=300)
    is_correct = models.BooleanField("correct", default=False)
    feedback = models.CharField(
        max_length=400, blank=True, help_text="Shown after submission to students who chose it."
    )
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return self.text
