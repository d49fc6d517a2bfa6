import pytest

from lessons.models import Lesson

SVG_ATTACK = (
    '<svg viewBox="0 0 10 10" onload="alert(\'svg-load\')" style="position:fixed">'
    "<title>t</title>"
    "<a href=\"javascript:alert('svg-link')\">"
    '<text x="1" y="2" onclick="alert(\'svg-click\')">go</text>'
    "</a>"
    "<foreignObject>"
    '<iframe src="https://example.com">'
    "</iframe>"
    "</foreignObject>"
    '<use href="data:image/svg+xml,x"/>'
    '<image href="https://example.com/x.svg"/>'
    '<animate attributeName="href" to="javascript:alert(\'anim\')"/>'
    '<set attributeName="onload" to="alert(\'set\')"/>'
    "<style>*{display:none}</style>"
    '<line x1="1" y1="1" x2="2" y2="2" onmouseover="alert(\'line\')"/>'
    "</svg>"
)
ATTACKS = """
<script>alert('script')</script>

<img src="x" onerror="alert('img')">

<a href="javascript:alert('link')">click</a> and [md link](javascript:alert('md'))

<iframe src="https://example.com"></iframe>

<p onclick="alert('click')" style="position:fixed">styled</p>

<svg><script>alert('svg')</script></svg>

{svg}
""".replace("{svg}", SVG_ATTACK)


@pytest.mark.django_db
def test_it_never_lets_staff_markup_run_on_the_lesson_page(client):
    Lesson.objects.create(
        title="Hostile", slug="hostile", order=1, summary="s", body=ATTACKS, published=True
    )
    page = client.get("/lessons/hostile/").content.decode().lower()
    body = page.split('class="lesson-body"', 1)[1].split("</article>", 1)[0]
    needles = (
        "<script",
        "onerror",
        "onclick",
        "onload",
        "onmouseover",
        'href="javascript',
        "<iframe",
        "position:",
        "<foreignobject",
        "<use",
        "<image",
        "<animate",
        "<set",
        "<style",
        "style=",
        'href="data:',
    )
    for needle in needles:
        assert needle not in body, needle
    assert "styled" in body and "click" in body  # the harmless text survives
    # The diagram's own parts survive: shapes and text, without the attacks on them.
    assert '<svg viewbox="0 0 10 10">' in body and "<title>t</title>" in body
    assert '<text x="1" y="2">go</text>' in body and '<line x1="1"' in body


@pytest.mark.django_db
def test_it_keeps_an_accessible_svg_diagram_with_only_its_own_classes(client):
    body = (
        '<figure class="diagram">\n<svg viewBox="0 0 100 40" role="img" '
        'aria-labelledby="d-t d-d"><title id="d-t">Handshake</title><desc id="d-d">SYN '
        'then ACK</desc><line class="packet evil" x1="0" y1="0" x2="90" y2="30"></line>'
        '<polygon class="packet-data" points="90,30 80,28 82,22"></polygon>'
        '<text class="state" x="5" y="10" text-anchor="start">SYN</text></svg>\n</figure>'
    )
    Lesson.objects.create(title="D", slug="d", order=1, summary="s", body=body, published=True)
    page = client.get("/lessons/d/").content.decode()
    assert (
        '<svg viewBox="0 0 100 40" role="img" aria-labelledby="d-t d-d">'
        '<title id="d-t">Handshake</title><desc id="d-d">SYN then ACK</desc>'
        '<line class="packet" x1="0" y1="0" x2="90" y2="30"></line>'
        '<polygon class="packet-data" points="90,30 80,28 82,22"></polygon>'
        '<text class="state" x="5" y="10" text-anchor="start">SYN</text></svg>'
    ) in page


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
