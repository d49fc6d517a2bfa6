import re

import pytest

from lessons.models import GlossaryTerm, Lesson


def glossary_links(html):
    return re.findall(r'href="/glossary/#([\w-]+)" class="glossary-term"[^>]*>([^<]+)<', html)


@pytest.mark.django_db
def test_it_links_only_the_first_mention_of_each_term(course):
    html = Lesson.objects.get(slug="sockets").body_html
    links = glossary_links(html)
    slugs = [slug for slug, _ in links]
    assert len(slugs) == len(set(slugs))
    assert ("socket", "socket") in links
    assert html.count("socket") > 5  # later mentions stay plain text


@pytest.mark.django_db
def test_it_leaves_headings_code_and_existing_links_alone(db):
    GlossaryTerm.objects.create(term="port", slug="port", definition="A door.")
    GlossaryTerm.objects.create(term="TCP", slug="tcp", definition="A protocol.")
    body = "## Port numbers\n\nUse `port`, [TCP](https://example.com), then a port and TCP."
    lesson = Lesson.objects.create(title="T", slug="t", order=1, summary="s", body=body)
    heading, paragraph = lesson.body_html.split("</h2>")
    assert "glossary-term" not in heading
    assert "<code>port</code>" in paragraph
    assert glossary_links(paragraph) == [("port", "port"), ("tcp", "TCP")]


@pytest.mark.django_db
def test_it_matches_plurals_and_aliases_but_not_parts_of_words(db):
    GlossaryTerm.objects.create(term="IP address", slug="ip-address", definition="d")
    GlossaryTerm.objects.create(term="port", slug="port", definition="d", aliases="door")
    lesson = Lesson.objects.create(
        title="T",
        slug="t",
        order=1,
        summary="s",
        body="Transport and airports are not ports. Doors and IP addresses are.",
    )
    assert glossary_links(lesson.body_html) == [
        ("port", "ports"),
        ("ip-address", "IP addresses"),
    ]


@pytest.mark.django_db
def test_it_lists_every_term_with_an_anchor_and_its_lessons(client, course):
    page = client.get("/glossary/").content.decode()
    for term in GlossaryTerm.objects.all():
        assert f'id="{term.slug}"' in page
    entry = page.split('id="5-tuple"', 1)[1].split("</div>", 1)[0]
    assert "local IP address, local port, remote IP address, remote port" in entry
    assert 'href="/lessons/the-5-tuple/"' in entry


@pytest.mark.django_db
def test_it_relinks_lessons_when_staff_add_a_term_in_the_admin(staff_client, course):
    assert "/glossary/#loading-dock" not in Lesson.objects.get(slug="sockets").body_html
    response = staff_client.post(
        "/admin/lessons/glossaryterm/add/",
        {
            "term": "loading dock",
            "slug": "loading-dock",
            "aliases": "",
            "definition": "The article's picture of a port.",
        },
    )
    assert response.status_code == 302
    assert "/glossary/#loading-dock" in Lesson.objects.get(slug="sockets").body_html


@pytest.mark.django_db
def test_it_links_the_tcp_flags_but_never_inside_syn_ack_or_a_state_name(course):
    html = Lesson.objects.get(slug="connections").body_html
    links = glossary_links(html)
    for slug, text in (("syn", "SYN"), ("ack", "ACK"), ("fin", "FIN"), ("psh", "PSH")):
        assert (slug, text) in links, slug
    # "SYN-ACK" and "FIN_WAIT1" stay whole: no link cuts a word apart.
    assert not re.search(r"SYN-<a [^>]*>ACK<|>SYN</a>-ACK|>FIN</a>_", html)
