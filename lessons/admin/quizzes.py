import nested_admin
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html

from lessons import quiz_rules
from lessons.analysis import quiz_stats
from lessons.models import Choice, Question, Quiz


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
            kind = self.instance.kind
        choices = [
            (form.cleaned_data.get("text", ""), form.cleaned_data.get("is_correct", False))
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if kind == quiz_rules.LAB:  # its steps are the question form's to check
            errors = quiz_rules.question_errors(quiz_rules.TEXT, choices, accepted=["-"])
        else:
            errors = quiz_rules.question_errors(kind, choices, accepted=["-"], number_answer=0)
        if errors:
            raise ValidationError(errors)


class ChoiceInline(nested_admin.NestedTabularInline):
    model = Choice
    formset = ChoiceFormSet
    extra = 0
    sortable_field_name = "order"
    fields = ("text", "is_correct", "feedback", "order")


class QuestionInline(nested_admin.NestedStackedInline):
    model = Question
    inlines = [ChoiceInline]
    extra = 0
    sortable_field_name = "order"
    fields = (
        ("kind", "key"),
        "prompt",
        "hint",
        "explanation",
        ("lesson", "anchor"),
        "accepted",
        ("number_answer", "tolerance"),
        "wrong_answers",
        "lab_steps",
        "order",
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

    @admin.display(description="Questions")
    def questions_count(self, obj):
        return obj.questions.count()

    @admin.display(description="Tools")
    def links(self, obj):
        if not obj.pk:
            return "Save the quiz to preview it and see its item analysis."
        return format_html(
            '<a href="{}">Preview</a> · <a href="{}">Item analysis</a>',
            reverse("admin:lessons_quiz_preview", args=[obj.pk]),
            reverse("admin:lessons_quiz_analysis", args=[obj.pk]),
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/preview/", wrap(self.preview_view), name="lessons_quiz_preview"),
            path("<int:pk>/analysis/", wrap(self.analysis_view), name="lessons_quiz_analysis"),
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
