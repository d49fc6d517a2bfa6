"""The playground's experiments in the admin: one page per experiment with its steps
(drag to reorder), each step's check and prediction validated by the loader's rules
(the prediction edited as a question, one choice per line and the right one's number
from 1, as staff count; stored as the files hold it, counted from 0); and the lab
analysis (lessons.analysis.lab_stats): per experiment, how many learners started and
finished it, and at which step the others stopped."""

import nested_admin
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from lessons import quiz_rules
from lessons.analysis import lab_stats
from lessons.models import Experiment, ExperimentStep
from playground import lab_checks


class StepForm(forms.ModelForm):
    """A step, with its prediction as three fields: all empty for a step that asks none."""

    predict_prompt = forms.CharField(
        label="Prediction: question",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Asked before the learner acts, e.g. “What will connect() return?”. "
        "Leave the three prediction fields empty for a step that asks none.",
    )
    predict_choices = forms.CharField(
        label="Prediction: choices",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One choice per line, {} to {} lines.".format(*lab_checks.PREDICT_CHOICES),
    )
    predict_answer = forms.IntegerField(
        label="Prediction: right choice",
        required=False,
        min_value=1,
        help_text="The line number of the right choice: 1 for the first.",
    )

    class Meta:
        model = ExperimentStep
        fields = ("text", "explain", "step_check", "order")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        prediction = self.instance.prediction or {}
        if prediction:
            self.initial.setdefault("predict_prompt", prediction.get("prompt", ""))
            self.initial.setdefault("predict_choices", "\n".join(prediction.get("choices", [])))
            answer = prediction.get("answer")
            if isinstance(answer, int):
                self.initial.setdefault("predict_answer", answer + 1)

    def clean(self):
        data = super().clean()
        prompt = (data.get("predict_prompt") or "").strip()
        lines = (data.get("predict_choices") or "").splitlines()
        choices = [line.strip() for line in lines if line.strip()]
        answer = data.get("predict_answer")
        if not prompt and not choices and answer is None:
            self.instance.prediction = {}
            return data
        low, high = lab_checks.PREDICT_CHOICES
        if not prompt:
            self.add_error("predict_prompt", "A prediction needs its question.")
        if not low <= len(choices) <= high:
            self.add_error(
                "predict_choices",
                f"Write {low} to {high} choices, one per line (there are {len(choices)}).",
            )
        elif len(set(choices)) != len(choices):
            self.add_error("predict_choices", "Two lines say the same thing.")
        if answer is None:
            self.add_error("predict_answer", "Give the line number of the right choice.")
        elif choices and answer > len(choices):
            self.add_error(
                "predict_answer",
                f"There are {len(choices)} choices: the right one is a number from 1 to "
                f"{len(choices)}.",
            )
        if not any(
            f in self.errors for f in ("predict_prompt", "predict_choices", "predict_answer")
        ):
            prediction = {"prompt": prompt, "choices": choices, "answer": answer - 1}
            # The rules the loader applies; the checks above say it in staff's terms first.
            problems = lab_checks.prediction_errors(prediction)
            if problems:
                self.add_error("predict_choices", problems)
            else:
                self.instance.prediction = prediction
        return data


class StepFormSet(nested_admin.formsets.NestedInlineFormSet):
    """The steps as a whole: at least one, and what playground.labs asks of a list."""

    def clean(self):
        super().clean()
        if any(form.errors for form in self.forms):
            return  # each step's own message is shown on its row
        steps = [
            {
                "text": form.cleaned_data.get("text", ""),
                "check": form.cleaned_data.get("step_check"),
            }
            for form in sorted(self.forms, key=lambda f: f.cleaned_data.get("order") or 0)
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        errors = quiz_rules.lab_steps_errors(steps, experiment=True)
        if errors:
            raise ValidationError(errors)


class StepInline(nested_admin.NestedStackedInline):
    model = ExperimentStep
    form = StepForm
    formset = StepFormSet
    extra = 0
    sortable_field_name = "order"
    fields = (
        "text",
        ("predict_prompt", "predict_choices", "predict_answer"),
        "explain",
        "step_check",
        "order",
    )


@admin.register(Experiment)
class ExperimentAdmin(nested_admin.NestedModelAdmin):
    list_display = ("title", "slug", "lesson", "order", "published", "unexported", "links")
    list_display_links = ("title",)
    list_editable = ("order", "published")
    list_filter = ("published", "lesson")
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [StepInline]
    fields = (("title", "slug"), ("lesson", "anchor"), ("order", "published"), "links")
    readonly_fields = ("links",)

    @admin.display(boolean=True, description="Edited since last load/export")
    def unexported(self, obj):
        return obj.edited_since_load or not obj.loaded_hash

    @admin.display(description="Tools")
    def links(self, obj):
        if not obj.pk:
            return "Save the experiment to try it in the playground."
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">Open in the playground</a> · '
            '<a href="{}#experiment-{}">Lab analysis</a>',
            obj.get_absolute_url(),
            reverse("admin:lessons_experiment_analysis"),
            obj.slug,
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("analysis/", wrap(self.analysis_view), name="lessons_experiment_analysis"),
            *super().get_urls(),
        ]

    def analysis_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Lab analysis",
            "stats": lab_stats(),
        }
        return render(request, "admin/lessons/experiment/analysis.html", context)
