"""The lesson's table of contents numbers its sections 1, 2, 3…: each ### sub-section
is listed under its ## section in a list of its own, never as a numbered item."""

import re

import pytest

from lessons.markdown import render, toc_tree


def toc_of(page: str) -> str:
    return page.split('class="toc"', 1)[1].split("</nav>", 1)[0]


@pytest.mark.django_db
def test_it_numbers_only_the_sections_in_a_lessons_table_of_contents(client, course):
    page = client.get("/lessons/connections/").content.decode()
    toc = toc_of(page)
    body = page.split('id="lesson-body"', 1)[1].split('class="lesson-end"', 1)[0]
    sections = re.findall(r'<h2 id="([^"]+)"', body)
    subsections = re.findall(r'<h3 id="([^"]+)"', body)
    assert subsections  # the lesson has ### headings, the case that was misnumbered
    nested = re.findall(r"<ul>(.*?)</ul>", toc, re.S)
    top = re.sub(r"<ul>.*?</ul>", "", toc, flags=re.S)
    # The numbered list holds the sections, in order; the sub-sections are in lists of
    # their own, so "On your own machine" is section 8, not item 12.
    assert re.findall(r'<li[^>]*><a href="#([^"]+)"', top) == sections
    assert [a for block in nested for a in re.findall(r'href="#([^"]+)"', block)] == subsections
    assert "On your own machine" in re.findall(r'href="#[^"]+">([^<]+)</a>', top)[len(sections) - 1]


def test_it_nests_each_sub_section_under_the_section_before_it():
    toc = render("### Before any section\n\n## One\n\n### One a\n\n### One b\n\n## Two\n").toc
    tree = toc_tree(toc)
    assert [(item["title"], [c["title"] for c in item["children"]]) for item in tree] == [
        ("Before any section", []),
        ("One", ["One a", "One b"]),
        ("Two", []),
    ]
