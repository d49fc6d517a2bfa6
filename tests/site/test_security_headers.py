"""Every page carries a Content-Security-Policy that allows no inline script and
a Permissions-Policy that denies the browser features the site never uses; the
markup itself has nothing the policy would block."""

import re

import pytest
from django.template.loader import render_to_string

from labs.models import Experiment
from lessons.models import Quiz

PAGES = [
    "/",
    "/lessons/sockets/",
    "/glossary/",
    "/quizzes/",
    "/quizzes/sockets-quiz/",
    "/playground/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/accounts/",
    "/accounts/progress/delete/",
    "/no-such-page/",
    "/admin/login/",
]
STAFF_PAGES = [
    "/admin/",
    "/admin/lessons/quiz/",
    "/admin/lessons/lesson/",
    "/admin/labs/experiment/",
    "/admin/labs/experiment/analysis/",
]
DENIED = ["camera", "microphone", "geolocation", "payment", "usb"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>")


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def assert_protected(response, path):
    policy = directives(response)
    assert policy["script-src"] == ["'self'"], path
    assert "'unsafe-inline'" not in policy.get("style-src", []), path
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    features = dict(part.split("=") for part in response["Permissions-Policy"].split(", "))
    assert all(features[name] == "()" for name in DENIED), path


def assert_nothing_inline(response, path):
    page = response.content.decode()
    assert not INLINE_SCRIPT.search(page), path
    assert not re.search(r"\sstyle=", page), path
    assert not re.search(r"\son[a-z]+=", page), path


@pytest.mark.django_db
def test_it_protects_every_public_page(client, course):
    for path in PAGES:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert_protected(response, path)
        assert_nothing_inline(response, path)


@pytest.mark.django_db
def test_it_protects_the_staff_pages(staff_client, course):
    quiz = Quiz.objects.get(slug="sockets-quiz")
    experiment = Experiment.objects.first()
    for path in [
        *STAFF_PAGES,
        f"/admin/lessons/quiz/{quiz.pk}/change/",
        f"/admin/lessons/quiz/{quiz.pk}/analysis/",
        f"/admin/labs/experiment/{experiment.pk}/change/",
    ]:
        response = staff_client.get(path)
        assert response.status_code == 200, path
        assert_protected(response, path)
    analysis = staff_client.get(f"/admin/lessons/quiz/{quiz.pk}/analysis/")
    assert_nothing_inline(analysis, "analysis")
    assert "<progress" in analysis.content.decode()
    labs = staff_client.get("/admin/labs/experiment/analysis/")
    assert_nothing_inline(labs, "lab analysis")
    assert "<progress" in labs.content.decode()


@pytest.mark.django_db
def test_it_protects_redirects_and_the_locked_out_page(client, course, settings):
    settings.AXES_FAILURE_LIMIT = 1
    assert_protected(client.get("/accounts/password/change/"), "redirect")
    locked = client.post("/accounts/login/", {"username": "nobody", "password": "guess"})
    assert locked.status_code == 429
    assert_protected(locked, "locked out")
    assert_nothing_inline(locked, "locked out")


def test_it_styles_the_server_error_page_without_inline_style():
    page = render_to_string("500.html")
    assert "Something went wrong on our side" in page
    assert " style=" not in page
    assert 'rel="stylesheet"' in page
