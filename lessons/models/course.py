from django.db import models
from django.urls import reverse

from lessons import markdown
from sockets_site.models_base import CourseItem, hash_fields


class GlossaryTerm(models.Model):
    term = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    aliases = models.CharField(
        max_length=200,
        blank=True,
        help_text="Other spellings that link here, separated by commas (plurals are automatic).",
    )
    definition = models.TextField(help_text="One or two plain sentences, following the article.")
    loaded_hash = models.CharField(max_length=64, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["term"]

    def __str__(self):
        return self.term

    def get_absolute_url(self):
        return reverse("lessons:glossary") + f"#{self.slug}"

    @property
    def names(self) -> list[str]:
        return [self.term, *(a.strip() for a in self.aliases.split(",") if a.strip())]

    def source_fields(self) -> dict:
        return {
            "term": self.term,
            "slug": self.slug,
            "aliases": self.aliases,
            "definition": self.definition,
        }

    def content_hash(self) -> str:
        return hash_fields(self.source_fields())


class Lesson(CourseItem):
    slug = models.SlugField(max_length=80, unique=True)
    summary = models.CharField(max_length=300, help_text="One sentence shown on the course page.")
    body = models.TextField(help_text="Markdown. Use ## and ### headings for sections.")
    body_html = models.TextField(editable=False, blank=True)
    toc = models.JSONField(editable=False, default=list)
    terms = models.JSONField(editable=False, default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def save(self, *args, **kwargs):
        self.body = normalise_markdown(self.body)
        self.render()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("lessons:detail", args=[self.slug])

    def source_fields(self) -> dict:
        return {
            "title": self.title,
            "slug": self.slug,
            "order": self.order,
            "summary": self.summary,
            "published": self.published,
            "body": normalise_markdown(self.body),
        }

    @property
    def toc_tree(self) -> list[dict]:
        return markdown.toc_tree(self.toc)

    def render(self, glossary: list[markdown.GlossaryEntry] | None = None) -> None:
        if glossary is None:
            glossary = glossary_entries()
        rendered = markdown.render(self.body, glossary, reverse("lessons:glossary"))
        self.body_html, self.toc, self.terms = rendered.html, rendered.toc, rendered.terms


def glossary_entries() -> list[markdown.GlossaryEntry]:
    return [
        markdown.GlossaryEntry(slug=t.slug, term=t.term, names=t.names, definition=t.definition)
        for t in GlossaryTerm.objects.all()
    ]


def rerender_lessons() -> int:
    """Refresh every lesson's cached HTML, e.g. after the glossary changed."""
    glossary = glossary_entries()
    lessons = list(Lesson.objects.all())
    for lesson in lessons:
        lesson.render(glossary)
    Lesson.objects.bulk_update(lessons, ["body_html", "toc", "terms"])
    return len(lessons)


def normalise_markdown(text: str) -> str:
    # Browsers submit textareas with CRLF; files use LF. One form for both.
    return text.replace("\r\n", "\n").strip()
