"""The playground's experiments in the admin: one page per experiment with its steps
(drag to reorder), each step's check validated by the loader's rules; and the lab
analysis (lessons.analysis.lab_stats): per experiment, how many learners started and
finished it, and at which step the others stopped."""

import nested_admin
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from lessons import quiz_rules
from lessons.analysis import lab_stats
from lessons.models import Experiment, ExperimentStep


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
        errors = quiz_rules.lab_steps_errors(steps)
        if errors:
            raise ValidationError(errors)


class StepInline(nested_admin.NestedTabularInline):
    model = ExperimentStep
    formset = StepFormSet
    extra = 0
    sortable_field_name = "order"
    fields = ("text", "step_check", "order")


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
