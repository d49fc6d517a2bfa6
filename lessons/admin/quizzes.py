"""Quizzes in the admin: the quiz page holds the quiz's settings and its questions as a
short sortable list; each question is edited on a page of its own, with its choices.

Rules:
- The quiz page lists its questions compactly (number, prompt as learners read it, type,
  "Edit"), in their order; staff reorder them by dragging (nested_admin's sortable
  inline, already the admin's editor) or with the Up and Down buttons, which a keyboard
  reaches (lessons/static/lessons/admin/quiz_order.js); Save stores the new order.
  nested_admin is kept rather than adding django-admin-sortable2: it already drives the
  sortable inlines of this admin (choices, experiment steps) and two sorting libraries on
  one page would fight over the same rows.
- A question's page checks its choices against the type chosen on the same page. A new
  question goes last; saving one goes back to its quiz.
- "Duplicate" copies a question with its choices to the end of its quiz, under a key
  no other question of the quiz has, and opens the copy.
- The item analysis (lessons.analysis.quiz_stats) shows prompts rendered by the site's
  Markdown renderer and sanitiser, links each row to its question's page, and is
  downloadable as CSV (lessons.analysis.quiz_csv_rows, safe against formulas).
"""

import csv

import nested_admin
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.forms import Script
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from lessons import quiz_rules
from lessons.analysis import prompt_text, quiz_csv_rows, quiz_stats
from lessons.models import Choice, Question, Quiz
from sockets_site import page_cache


class ChoiceFormSet(nested_admin.formsets.NestedInlineFormSet):
    """Checks the choices against the question type chosen on the same page."""

    def clean(self):
        super().clean()
        parent = getattr(self, "parent_form", None)
        if parent is not None and parent.is_valid():
            kind = parent.cleaned_data.get("kind")
            if parent.cleaned_data.get("DELETE"):
                return
        else:
            # On the question's own page the formset's instance is the question form's,
            # already holding the type posted with it.
            kind = self.instance.kind
        choices = [
            (form.cleaned_data.get("text", ""), form.cleaned_data.get("is_correct", False))
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        errors = quiz_rules.choice_errors(kind, choices)
        if errors:
            raise ValidationError(errors)


# Stacked, not tabular: a tabular inline's cells have no <label> of their own (only the
# column's header), so axe-core finds every choice's field unnamed to a screen reader.
class ChoiceInline(nested_admin.NestedStackedInline):
    model = Choice
    formset = ChoiceFormSet
    extra = 0
    sortable_field_name = "order"
    fields = ("text", "is_correct", "feedback", "order")


def _position(question) -> int:
    """The question's number in its quiz, in authored order (1 for the first)."""
    if not hasattr(question, "_position"):
        pks = Question.objects.filter(quiz_id=question.quiz_id).values_list("pk", flat=True)
        question._position = list(pks).index(question.pk) + 1
    return question._position


class QuestionInline(nested_admin.NestedTabularInline):
    """The quiz's questions as a sortable list; each is edited on its own page."""

    model = Question
    extra = 0
    can_delete = False  # on the question's own page, which says what goes with it
    sortable_field_name = "order"
    fields = ("number", "excerpt", "kind_name", "tools", "order")
    readonly_fields = ("number", "excerpt", "kind_name", "tools")
    verbose_name_plural = "questions (drag a row, or use Up and Down; then Save)"

    def has_add_permission(self, request, obj=None):
        return False  # a question is added on its own page (the quiz's "Add a question")

    @admin.display(description="#")
    def number(self, obj):
        return format_html("<span data-question-number>{}</span>", _position(obj))

    @admin.display(description="Question")
    def excerpt(self, obj):
        return Truncator(prompt_text(obj.prompt)).chars(140)

    @admin.display(description="Type")
    def kind_name(self, obj):
        return obj.get_kind_display()

    @admin.display(description="Edit and move")
    def tools(self, obj):
        number = _position(obj)
        return format_html(
            '<a href="{}" data-edit aria-label="Edit question {}">Edit</a> '
            '<button type="button" class="button" data-move="-1" '
            'aria-label="Move question {} up">↑ Up</button> '
            '<button type="button" class="button" data-move="1" '
            'aria-label="Move question {} down">↓ Down</button>',
            reverse("admin:lessons_question_change", args=[obj.pk]),
            number,
            number,
            number,
        )


@admin.register(Quiz)
class QuizAdmin(nested_admin.NestedModelAdmin):
    list_display = ("title", "order", "lesson", "published", "questions_count", "links")
    list_editable = ("order", "published")
    list_display_links = ("title",)
    prepopulated_fields = {"slug": ("title",)}
    inlines = [QuestionInline]
    fields = (
        ("title", "slug"),
        ("lesson", "order", "published"),
        "description",
        ("pass_mark", "max_attempts", "counts"),
        "show_answers",
        "links",
    )
    readonly_fields = ("links",)

    class Media:
        js = (Script("lessons/admin/quiz_order.js", type="module"),)
        css = {"all": ("lessons/admin/authoring.css",)}

    @admin.display(description="Questions")
    def questions_count(self, obj):
        return obj.questions.count()

    @admin.display(description="Tools")
    def links(self, obj):
        if not obj.pk:
            return "Save the quiz to add questions, preview it and see its item analysis."
        return format_html(
            '<a href="{}">Add a question</a> · <a href="{}">Preview</a> · '
            '<a href="{}">Item analysis</a>',
            reverse("admin:lessons_question_add") + f"?quiz={obj.pk}",
            reverse("admin:lessons_quiz_preview", args=[obj.pk]),
            reverse("admin:lessons_quiz_analysis", args=[obj.pk]),
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/preview/", wrap(self.preview_view), name="lessons_quiz_preview"),
            path("<int:pk>/analysis/", wrap(self.analysis_view), name="lessons_quiz_analysis"),
            path(
                "<int:pk>/analysis.csv",
                wrap(self.analysis_csv_view),
                name="lessons_quiz_analysis_csv",
            ),
            *super().get_urls(),
        ]

    def _quiz(self, request, pk):
        quiz = get_object_or_404(Quiz, pk=pk)
        if not self.has_view_permission(request, quiz):
            raise PermissionDenied
        return quiz

    def preview_view(self, request, pk):
        """The questions as students see them, in authored order, with the answer key."""
        quiz = self._quiz(request, pk)
        questions = quiz.questions.select_related("lesson").prefetch_related("choices")
        return render(request, "lessons/quiz_preview.html", {"quiz": quiz, "questions": questions})

    def analysis_view(self, request, pk):
        quiz = self._quiz(request, pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Item analysis: {quiz}",
            "quiz": quiz,
            "stats": quiz_stats(quiz),
        }
        return render(request, "admin/lessons/quiz/analysis.html", context)

    def analysis_csv_view(self, request, pk):
        quiz = self._quiz(request, pk)

        def edit_url(question):
            return request.build_absolute_uri(
                reverse("admin:lessons_question_change", args=[question.pk])
            )

        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{quiz.slug}-items.csv"'
        response.write("\ufeff")  # so spreadsheets read the file as UTF-8
        csv.writer(response).writerows(quiz_csv_rows(quiz_stats(quiz), edit_url))
        return response


@admin.register(Question)
class QuestionAdmin(nested_admin.NestedModelAdmin):
    inlines = [ChoiceInline]
    list_display = ("excerpt", "quiz", "kind", "order")
    list_display_links = ("excerpt",)
    list_filter = ("quiz", "kind")
    search_fields = ("prompt", "key")
    list_select_related = ("quiz",)
    fields = (
        ("quiz", "kind", "key"),
        "prompt",
        "hint",
        "explanation",
        ("lesson", "anchor"),
        "accepted",
        ("number_answer", "tolerance"),
        "wrong_answers",
        "lab_steps",
    )

    class Media:
        css = {"all": ("lessons/admin/authoring.css",)}

    @admin.display(description="Question")
    def excerpt(self, obj):
        return Truncator(prompt_text(obj.prompt)).chars(100)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/duplicate/",
                wrap(require_POST(self.duplicate_view)),
                name="lessons_question_duplicate",
            ),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change):
        if not change or "quiz" in form.changed_data:
            last = Question.objects.filter(quiz_id=obj.quiz_id).exclude(pk=obj.pk)
            obj.order = (last.aggregate(top=Max("order"))["top"] or 0) + 1
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        page_cache.new_generation()  # quiz pages and counts show the question

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        page_cache.new_generation()

    def _back_to_quiz(self, request, obj, response):
        # "Save" goes back to the quiz's list of questions, where the question stands.
        if any(key in request.POST for key in ("_continue", "_addanother", "_saveasnew")):
            return response
        return HttpResponseRedirect(reverse("admin:lessons_quiz_change", args=[obj.quiz_id]))

    def response_change(self, request, obj):
        return self._back_to_quiz(request, obj, super().response_change(request, obj))

    def response_add(self, request, obj, post_url_continue=None):
        return self._back_to_quiz(request, obj, super().response_add(request, obj))

    def duplicate_view(self, request, pk):
        question = get_object_or_404(Question, pk=pk)
        if not self.has_add_permission(request) or not self.has_view_permission(request, question):
            raise PermissionDenied
        choices = list(question.choices.all())
        keys = set(Question.objects.filter(quiz_id=question.quiz_id).values_list("key", flat=True))
        key = _copy_key(question.key, keys)
        with transaction.atomic():
            top = Question.objects.filter(quiz_id=question.quiz_id).aggregate(top=Max("order"))
            question.pk = question.id = None
            question._state.adding = True
            question.key, question.order = key, (top["top"] or 0) + 1
            question.save()
            for choice in choices:
                choice.pk = choice.id = None
                choice._state.adding = True
                choice.question = question
                choice.save()
        page_cache.new_generation()
        messages.success(request, "This is the copy, added at the end of the quiz.")
        return redirect("admin:lessons_question_change", question.pk)


def _copy_key(key: str, taken: set[str], longest: int = 80) -> str:
    """A key for a copy of `key`, unlike every key in `taken` and at most `longest` long:
    the suffix is kept whole and the original cut to make room, so a long key still gets
    a new one (cutting the whole string would give the same key every time)."""
    n = 1
    while True:
        suffix = "-copy" if n == 1 else f"-copy-{n}"
        candidate = key[: longest - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1
