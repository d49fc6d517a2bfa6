"""The course must carry every sentence of the article it is adapted from."""

import re
from html import unescape

import frontmatter
import pytest
from markdown_it import MarkdownIt

from lessons.models import Lesson
from tests.support.paths import ROOT

# A copy kept in the repository: the project reads nothing outside its own tree.
ARTICLE = ROOT / "lessons" / "content" / "source" / "sockets-article.md"
# Typos in the article that the lessons correct on purpose.
CORRECTIONS = {"remove device socket": "remote device socket"}


def plain_text(html: str) -> str:
    text = unescape(re.sub(r"<[^>]+>", "", html))
    return " ".join(text.split())


def article_sentences() -> list[str]:
    body = frontmatter.load(ARTICLE).content
    for wrong, right in CORRECTIONS.items():
        body = body.replace(wrong, right)
    tokens = MarkdownIt("commonmark").parse(body)
    sentences = []
    for token in tokens:
        if token.type != "inline":
            continue
        text = " ".join(token.content.split())
        text = re.sub(r"\[([^\]]+)\]\[\]", r"\1", text)  # [TCP][] -> TCP
        text = text.replace("`", "")
        sentences += re.split(r"(?<=[.?!])\s+(?=[A-Z(])", text)
    return [s for s in sentences if s]


def test_it_reads_the_seed_article():
    sentences = article_sentences()
    assert len(sentences) > 25
    assert "A socket is an endpoint that can be used for a particular connection instance." in (
        sentences
    )


@pytest.mark.django_db
def test_it_carries_every_sentence_of_the_article(course):
    lessons = " ".join(plain_text(lesson.body_html) for lesson in Lesson.objects.all())
    missing = [s for s in article_sentences() if s not in lessons]
    assert missing == []


@pytest.mark.django_db
def test_it_corrects_the_remove_device_typo(course):
    body = Lesson.objects.get(slug="the-5-tuple").body
    assert "remote device socket" in body
    assert "The port being used by the remove device socket" not in body


@pytest.mark.django_db
def test_it_orders_the_course_like_the_article(course):
    titles = list(Lesson.objects.values_list("title", flat=True))
    assert titles == [
        "What is a socket, anyway?",
        "Connections",
        "Ports",
        "Sockets",
        "The 5-tuple",
    ]


@pytest.mark.django_db
def test_it_credits_the_article_and_its_date(client, course):
    page = client.get("/lessons/introduction/").content.decode()
    assert "“Sockets”" in page and "31 August 2014" in page


@pytest.mark.django_db
def test_it_keeps_the_article_with_its_credit_and_does_not_load_it(course):
    meta = frontmatter.load(ARTICLE).metadata
    assert meta["title"] == "Sockets" and str(meta["date"]) == "2014-08-31"
    assert "“Sockets” of 31 August 2014" in meta["source"] and "adapted" in meta["adapted"]
    assert not Lesson.objects.filter(slug="sockets-article").exists()
