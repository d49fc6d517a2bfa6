import pytest

from lessons.models import Lesson

ATTACKS = """
<script>alert('script')</script>

<img src="x" onerror="alert('img')">

<a href="javascript:alert('link')">click</a> and [md link](javascript:alert('md'))

<iframe src="https://example.com"></iframe>

<p onclick="alert('click')" style="position:fixed">styled</p>

<svg><script>alert('svg')</script></svg>
"""


@pytest.mark.django_db
def test_it_never_lets_staff_markup_run_on_the_lesson_page(client):
    Lesson.objects.create(
        title="Hostile", slug="hostile", order=1, summary="s", body=ATTACKS, published=True
    )
    page = client.get("/lessons/hostile/").content.decode().lower()
    body = page.split('class="lesson-body"', 1)[1].split("</article>", 1)[0]
    needles = ("<script", "onerror", "onclick", 'href="javascript', "<iframe", "<svg", "position:")
    for needle in needles:
        assert needle not in body, needle
    assert "styled" in body and "click" in body  # the harmless text survives


@pytest.mark.django_db
def test_it_keeps_ordinary_lesson_formatting(client):
    body = (
        "## A heading\n\nSome **bold**, `code` and a [link](https://example.com/x).\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n<kbd>Ctrl</kbd>"
    )
    Lesson.objects.create(
        title="Plain", slug="plain", order=1, summary="s", body=body, published=True
    )
    page = client.get("/lessons/plain/").content.decode()
    assert '<h2 id="a-heading">' in page
    assert "<strong>bold</strong>" in page and "<code>code</code>" in page
    assert '<a href="https://example.com/x">link</a>' in page
    assert "<table>" in page and "<td>2</td>" in page
    assert "<kbd>Ctrl</kbd>" in page
