import re

import pytest

from playground.experiments import EXPERIMENTS


@pytest.mark.django_db
def test_it_starts_a_session_for_the_websocket(client):
    response = client.get("/playground/")
    assert response.status_code == 200
    assert client.session.session_key
    assert response.cookies["sessionid"]["httponly"]


@pytest.mark.django_db
def test_it_shows_the_playground_in_the_navigation(client):
    page = client.get("/").content.decode()
    nav = page.split('aria-label="Site"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r">(\w+)</a>", nav) == ["Lessons", "Quizzes", "Playground", "Glossary"]


@pytest.mark.django_db
def test_it_says_what_is_needed_without_javascript(client):
    page = client.get("/playground/").content.decode()
    assert "<noscript>" in page and "needs JavaScript" in page


@pytest.mark.django_db
def test_it_links_each_experiment_from_the_lesson_that_teaches_it(client, course):
    assert len(EXPERIMENTS) >= 5
    for experiment in EXPERIMENTS:
        page = client.get(f"/lessons/{experiment['lesson']}/").content.decode()
        assert f'href="/playground/?experiment={experiment["id"]}"' in page, experiment["id"]
