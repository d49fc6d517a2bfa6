"""The playground page and the lesson panel as Django serves them: both have their script
make sure, with a POST, that the browser has a session with a learner key before the
WebSocket opens (the engine names the sandbox's owner by it); no GET makes one. The
panel is the same markup for every reader of a cached lesson page."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.test import Client

from sockets_site.learners import SESSION_KEY

LESSON = "/lessons/ports/"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def experiment_files() -> dict[str, dict]:
    folder = Path(settings.COURSE_CONTENT_DIR) / "experiments"
    return {path.stem: yaml.safe_load(path.read_text()) for path in folder.glob("*.yaml")}


@pytest.mark.django_db
def test_it_starts_a_session_with_a_learner_key_for_the_websocket(client):
    assert client.get("/playground/").status_code == 200
    assert "sessionid" not in client.cookies  # a GET makes none: the page's script asks
    response = client.post("/playground/session/")
    assert response.status_code == 204
    assert client.session.session_key
    assert client.session[SESSION_KEY]
    assert response.cookies["sessionid"]["httponly"]


@pytest.mark.django_db
def test_it_keeps_the_learner_key_of_a_session(client):
    client.post("/playground/session/")
    key = client.session[SESSION_KEY]
    client.get("/playground/")
    client.post("/playground/session/")
    assert client.session[SESSION_KEY] == key


@pytest.mark.django_db
def test_it_shows_the_playground_in_the_navigation(client):
    page = client.get("/").content.decode()
    nav = page.split('aria-label="Site"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r">(\w+)</a>", nav) == [
        "Lessons",
        "Quizzes",
        "Review",
        "Playground",
        "Glossary",
    ]


@pytest.mark.django_db
def test_it_says_what_is_needed_without_javascript(client):
    page = client.get("/playground/").content.decode()
    assert "<noscript>" in page and "needs JavaScript" in page


@pytest.mark.django_db
def test_it_makes_a_session_for_a_lesson_panel_with_a_csrf_token_only(course):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(LESSON).content.decode()
    assert "sessionid" not in browser.cookies  # the cached lesson page makes none
    assert browser.post("/playground/session/").status_code == 403
    assert "sessionid" not in browser.cookies
    token = CSRF.search(page).group(1)
    response = browser.post("/playground/session/", headers={"X-CSRFToken": token})
    assert response.status_code == 204
    assert browser.session.session_key and browser.session[SESSION_KEY]
    assert browser.get("/playground/session/").status_code == 405


@pytest.mark.django_db
def test_it_adds_the_same_hidden_panel_to_every_reader_of_a_lesson(course):
    pages = [Client().get(LESSON).content.decode() for _ in range(2)]
    panels = [
        CSRF.sub("", p.split('<aside class="pg lab-panel"', 1)[1].split("</aside>", 1)[0])
        for p in pages
    ]
    assert panels[0] == panels[1]
    panel = panels[0]
    assert "data-lab-panel hidden" in panel
    assert 'data-session-url="/playground/session/"' in panel
    # The page's one module (lessons/lesson.js) imports the playground's, files of the
    # site's own (script-src 'self'); beside it only the panel's vocabulary, as data.
    scripts = re.findall(r'<script type="module" src="([^"]+)"', pages[0])
    data = re.findall(r'<script id="playground-vocabulary" type="application/json">', pages[0])
    assert len(scripts) == 1 and "lessons/lesson" in scripts[0]
    assert len(data) == 1 and pages[0].count("<script") == 2
    assert "data-module" not in panel


@pytest.mark.django_db
def test_it_leaves_the_panel_out_of_the_admin_preview(staff_client, course):
    from lessons.models import Lesson

    lesson = Lesson.objects.get(slug="ports")
    assert staff_client.get(LESSON).content.decode().count("data-lab-panel") == 1
    preview = staff_client.get(f"/admin/lessons/lesson/{lesson.pk}/preview/")
    assert preview.status_code == 200
    assert "data-lab-panel" not in preview.content.decode()


@pytest.mark.django_db
def test_it_links_each_experiment_from_the_lesson_that_teaches_it(client, course):
    experiments = experiment_files()
    assert len(experiments) >= 5
    for name, experiment in experiments.items():
        page = client.get(f"/lessons/{experiment['lesson']}/").content.decode()
        assert f'href="/playground/?experiment={name}"' in page, name
