"""Lessons and glossary terms in the admin.

Rules:
- The lesson body is edited in EasyMDE (vendored under static/lessons/admin/vendor/, no
  build step; chosen over django-markdownx and martor because it is the editor both of
  them wrap, and it lets the preview come from our renderer alone), with the preview
  beside the text. The preview is rendered by the render endpoint with the site's own
  Markdown renderer, glossary and sanitiser (Lesson.render, lessons.markdown), so staff
  see what learners will get; it is staff-only and a POST with the CSRF token.
- Without scripts the body is a plain textarea, tall enough to work in.
- The Preview button still shows the unsaved lesson in a tab, with the lesson template.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.forms import Script
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from lessons.models import GlossaryTerm, Lesson, rerender_lessons

EASYMDE = "lessons/admin/vendor/easymde-2.21.0/"


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ("title", "order", "published", "slug", "updated_at", "unexported")
    list_display_links = ("title",)
    list_editable = ("order", "published")
    list_filter = ("published",)
    search_fields = ("title", "summary", "body")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("preview_link", "updated_at")
    fields = (
        "title",
        "slug",
        "order",
        "published",
        "summary",
        "body",
        "preview_link",
        "updated_at",
    )

    class Media:
        js = (EASYMDE + "easymde.min.js", Script("lessons/admin/lesson_editor.js", type="module"))
        css = {"all": (EASYMDE + "easymde.min.css", "lessons/admin/authoring.css")}

    @admin.display(boolean=True, description="Edited since last load/export")
    def unexported(self, obj):
        return obj.edited_since_load or not obj.loaded_hash

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "body":
            kwargs["widget"] = forms.Textarea(
                attrs={
                    "rows": 30,
                    "class": "vLargeTextField",
                    "data-markdown-editor": "",
                    "data-preview-url": reverse("admin:lessons_lesson_render"),
                }
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="Preview")
    def preview_link(self, obj):
        if not obj.pk:
            return "Use the Preview button below to see the page before saving."
        url = reverse("admin:lessons_lesson_preview", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">Preview the saved lesson</a>', url)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        render_body = self.admin_site.admin_view(require_POST(self.render_view))
        return [
            path("render/", render_body, name="lessons_lesson_render"),
            path("preview/", preview, name="lessons_lesson_preview_unsaved"),
            path("<int:pk>/preview/", preview, name="lessons_lesson_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk=None):
        """Render a lesson with the site's own template: the saved version on GET,
        or the change form's unsaved fields on POST (the form's Preview button)."""
        if pk is not None:
            lesson = get_object_or_404(Lesson, pk=pk)
            if not self.has_view_permission(request, lesson):
                raise PermissionDenied
        else:
            lesson = Lesson()
        if request.method == "POST":
            if not self.has_change_permission(request) and not self.has_add_permission(request):
                raise PermissionDenied
            lesson.title = request.POST.get("title", "")
            lesson.summary = request.POST.get("summary", "")
            lesson.body = request.POST.get("body", "")
            lesson.published = request.POST.get("published") == "on"
        lesson.render()
        return render(request, "lessons/lesson_detail.html", {"lesson": lesson, "preview": True})

    def render_view(self, request):
        """The editor's live preview: the posted body as the lesson page would show it."""
        if not self.has_change_permission(request) and not self.has_add_permission(request):
            raise PermissionDenied
        lesson = Lesson(body=request.POST.get("body", ""))
        lesson.render()
        return JsonResponse({"html": lesson.body_html})


class GlossaryRerenderMixin:
    """Lesson pages cache their glossary links, so any glossary change re-renders them."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        rerender_lessons()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        rerender_lessons()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        rerender_lessons()


@admin.register(GlossaryTerm)
class GlossaryTermAdmin(GlossaryRerenderMixin, admin.ModelAdmin):
    list_display = ("term", "slug", "aliases", "updated_at")
    search_fields = ("term", "aliases", "definition")
    prepopulated_fields = {"slug": ("term",)}
    fields = ("term", "slug", "aliases", "definition")
