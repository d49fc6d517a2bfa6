import re

import pytest

from lessons.models import Lesson


def text_of(response):
    return response.content.decode()


@pytest.mark.django_db
def test_it_lists_the_lessons_in_order_with_a_start_button(client, course):
    page = text_of(client.get("/"))
    titles = re.findall(r'<span class="lesson-title">([^<]+)</span>', page)
    assert titles == ["What is a socket, anyway?", "Connections", "Ports", "Sockets", "The 5-tuple"]
    assert re.search(r'<a class="button button-primary" href="/lessons/introduction/">Start', page)


@pytest.mark.django_db
def test_it_shows_a_lesson_with_contents_anchors_and_neighbours(client, course):
    page = text_of(client.get("/lessons/ports/"))
    assert '<h1 id="lesson-title">Ports</h1>' in page
    toc = page.split('class="toc"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="#finding-the-device">Finding the device</a>' in toc
    assert '<h2 id="finding-the-device">' in page
    assert 'rel="prev"' in page and "/lessons/connections/" in page
    assert 'rel="next"' in page and "/lessons/sockets/" in page
    assert "Lesson 3 of 5" in page


@pytest.mark.django_db
def test_it_ends_the_last_lesson_with_a_way_back(client, course):
    page = text_of(client.get("/lessons/the-5-tuple/"))
    assert 'rel="next"' not in page
    assert "Back to the course" in page


@pytest.mark.django_db
def test_it_gives_a_real_404_page_for_an_unknown_lesson(client, course):
    response = client.get("/lessons/no-such-lesson/")
    assert response.status_code == 404
    page = text_of(response)
    assert "Page not found" in page
    assert 'class="site-header"' in page and "Back to the course" in page


@pytest.mark.django_db
def test_it_hides_unpublished_lessons_from_students(client, student_client, course):
    Lesson.objects.filter(slug="ports").update(published=False)
    for visitor in (client, student_client):
        assert "/lessons/ports/" not in text_of(visitor.get("/"))
        assert visitor.get("/lessons/ports/").status_code == 404
        neighbour = text_of(visitor.get("/lessons/connections/"))
        assert "/lessons/ports/" not in neighbour
        assert "/lessons/sockets/" in neighbour  # next skips the hidden lesson


@pytest.mark.django_db
def test_it_shows_unpublished_lessons_to_staff_with_a_banner(staff_client, course):
    Lesson.objects.filter(slug="ports").update(published=False)
    page = text_of(staff_client.get("/lessons/ports/"))
    assert "Only staff can see this lesson" in page
    assert "Unpublished" in text_of(staff_client.get("/"))


@pytest.mark.django_db
def test_it_puts_navigation_in_site_order_and_marks_the_current_page(client, course):
    page = text_of(client.get("/glossary/"))
    nav = page.split('aria-label="Site"', 1)[1].split("</nav>", 1)[0]
    labels = re.findall(r">(\w+)</a>", nav)
    order = ["Lessons", "Quizzes", "Review", "Playground", "Glossary"]
    assert labels == [label for label in order if label in labels]
    assert labels[0] == "Lessons" and "Glossary" in labels
    assert '<a href="/glossary/" aria-current="page">Glossary</a>' in nav


@pytest.mark.django_db
def test_it_has_a_skip_link_landmarks_and_a_phone_viewport(client, course):
    page = text_of(client.get("/lessons/sockets/"))
    assert '<a class="skip-link" href="#main">' in page
    assert '<main id="main"' in page
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    # Without JavaScript the text is all there and "read" is a plain form;
    # the one script is a module that only adds to it.
    assert "use sockets to send and receive information" in page
    assert 'method="post" action="/lessons/sockets/read/"' in page
    # (Beside it, the playground panel's vocabulary: data, not a script that runs.)
    data = page.count('<script id="playground-vocabulary" type="application/json">')
    assert page.count("<script") - data == page.count('<script type="module"') == 1
