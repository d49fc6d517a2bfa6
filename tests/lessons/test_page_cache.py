"""Lesson and course pages: the shared parts come from the cache, the personal parts do not,
and every edit (admin, model, loader) shows at once."""

import re

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from lessons.models import GlossaryTerm, Lesson, Quiz

LESSON = "/lessons/sockets/"


def _tables(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in queries]


def _csrf(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


@pytest.mark.django_db
def test_it_serves_a_lesson_page_to_a_visitor_without_a_query_once_cached(client, course):
    first = client.get(LESSON).content.decode()
    assert _tables(client, LESSON) == []
    again = client.get(LESSON).content.decode()
    assert again.replace(_csrf(again), "") == first.replace(_csrf(first), "")
    assert 'class="lesson-body"' in again and "glossary-term" in again


@pytest.mark.django_db
def test_it_serves_the_course_page_to_a_visitor_without_a_query_once_cached(client, course):
    client.get("/")
    assert _tables(client, "/") == []


@pytest.mark.django_db
def test_it_asks_the_database_nothing_about_lessons_for_a_reader_with_a_session(client, course):
    client.post(f"{LESSON}read/")  # creates the visitor's session and marks the lesson read
    client.get(LESSON)
    queries = _tables(client, LESSON)
    assert not any("lessons_" in sql for sql in queries), queries
    assert "You have read this lesson." in client.get(LESSON).content.decode()


@pytest.mark.django_db
def test_it_finds_the_reads_of_a_session_made_before_they_were_kept_in_it(client, course):
    client.post(f"{LESSON}read/")
    session = client.session
    del session["read_lessons"]  # as a session from before the copy was kept
    session.save()
    assert "You have read this lesson." in client.get(LESSON).content.decode()
    assert not any("lessons_" in sql for sql in _tables(client, LESSON))


@pytest.mark.django_db
def test_it_keeps_the_read_state_and_the_csrf_token_personal(course):
    reader, other = Client(), Client()
    reader.post(f"{LESSON}read/")
    read_page = reader.get(LESSON).content.decode()
    other_page = other.get(LESSON).content.decode()
    assert "You have read this lesson." in read_page
    assert "You have read this lesson." not in other_page
    assert 'data-read="true"' in read_page and 'data-read="false"' in other_page
    assert _csrf(read_page) != _csrf(other_page)


@pytest.mark.django_db
def test_it_keeps_the_user_bar_personal(student_client, course):
    client = Client()  # the client fixture is the student's
    assert "Log in" in client.get(LESSON).content.decode()
    page = student_client.get(LESSON).content.decode()
    assert "student" in page and "Log out" in page


@pytest.mark.django_db
def test_it_shows_a_lesson_saved_by_staff_at_once(client, course):
    assert "Freshly edited paragraph" not in client.get(LESSON).content.decode()
    lesson = Lesson.objects.get(slug="sockets")
    lesson.body += "\n\n## Freshly edited\n\nFreshly edited paragraph."
    lesson.save()
    page = client.get(LESSON).content.decode()
    assert "Freshly edited paragraph" in page
    assert 'href="#freshly-edited"' in page  # the table of contents too


@pytest.mark.django_db
def test_it_shows_a_lesson_edited_in_the_admin_at_once(staff_client, course):
    client = Client()  # the client fixture is the staff member's
    assert "Admin wording" not in client.get("/").content.decode()
    lesson = Lesson.objects.get(slug="sockets")
    client.get(f"/lessons/{_neighbour(lesson)}/")
    response = staff_client.post(
        f"/admin/lessons/lesson/{lesson.pk}/change/",
        {
            "title": "Admin wording",
            "slug": lesson.slug,
            "order": lesson.order,
            "summary": lesson.summary,
            "published": "on",
            "body": lesson.body,
        },
    )
    assert response.status_code == 302
    assert "Admin wording" in client.get(LESSON).content.decode()
    assert "Admin wording" in client.get("/").content.decode()
    # The neighbours' navigation names it too.
    assert "Admin wording" in client.get(f"/lessons/{_neighbour(lesson)}/").content.decode()


def _neighbour(lesson) -> str:
    """The lesson just before, whose pager links to this one."""
    return (
        Lesson.objects.filter(published=True, order__lt=lesson.order).order_by("order").last().slug
    )


@pytest.mark.django_db
def test_it_links_a_glossary_term_added_in_the_admin_at_once(staff_client, course):
    client = Client()  # the client fixture is the staff member's
    assert "/glossary/#loading-dock" not in client.get(LESSON).content.decode()
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
    assert "/glossary/#loading-dock" in client.get(LESSON).content.decode()


@pytest.mark.django_db
def test_it_shows_a_glossary_term_edited_in_the_admin_at_once(staff_client, course):
    client = Client()  # the client fixture is the staff member's
    page = client.get(LESSON).content.decode()
    term = next(t for t in GlossaryTerm.objects.all() if f"/glossary/#{t.slug}" in page)
    response = staff_client.post(
        f"/admin/lessons/glossaryterm/{term.pk}/change/",
        {
            "term": term.term,
            "slug": term.slug,
            "aliases": term.aliases,
            "definition": "An edited definition, shown at once.",
        },
    )
    assert response.status_code == 302
    assert "An edited definition, shown at once." in client.get(LESSON).content.decode()


@pytest.mark.django_db
def test_it_shows_a_changed_course_file_once_the_course_is_loaded(client, course, content_dir):
    assert "Loaded from the file" not in client.get(LESSON).content.decode()
    path = content_dir / "lessons" / "sockets.md"
    path.write_text(path.read_text() + "\n\nLoaded from the file.\n")
    call_command("load_course", "--content-dir", str(content_dir), verbosity=0)
    assert "Loaded from the file." in client.get(LESSON).content.decode()


@pytest.mark.django_db
def test_it_forgets_the_cached_pages_when_the_course_is_loaded_even_without_signals(client, course):
    client.get(LESSON)
    # A change no signal reports (a queryset update), then a load of the same files.
    Lesson.objects.filter(slug="sockets").update(summary="Changed behind the cache's back.")
    call_command("load_course", verbosity=0)
    assert "Changed behind the cache&#x27;s back." in client.get(LESSON).content.decode()


@pytest.mark.django_db
def test_it_keeps_drafts_cached_for_staff_away_from_visitors(staff_client, course):
    client = Client()  # the client fixture is the staff member's
    client.get(LESSON)
    staff_client.get(LESSON)
    lesson = Lesson.objects.get(slug="sockets")
    lesson.published = False
    lesson.save()
    staff_page = staff_client.get(LESSON)
    assert staff_page.status_code == 200 and "Unpublished." in staff_page.content.decode()
    assert client.get(LESSON).status_code == 404
    assert LESSON not in client.get("/").content.decode()
    assert LESSON in staff_client.get("/").content.decode()


@pytest.mark.django_db
def test_it_shows_a_quiz_published_by_staff_on_the_lesson_page_at_once(client, course):
    quiz = Quiz.objects.get(lesson__slug="sockets")
    assert quiz.get_absolute_url() in client.get(LESSON).content.decode()
    quiz.published = False
    quiz.save()
    assert quiz.get_absolute_url() not in client.get(LESSON).content.decode()


@pytest.mark.django_db
def test_it_answers_404_for_an_unknown_lesson_and_caches_nothing_for_it(client, course):
    from django.core.cache import cache

    before = len(cache._cache)  # local memory in tests: the entries themselves
    assert client.get("/lessons/no-such-lesson/").status_code == 404
    assert len(cache._cache) <= before + 1  # the generation at most


@pytest.mark.django_db
def test_it_shows_a_waiting_message_rather_than_the_cached_page(client, course):
    client.get(LESSON)  # the public page is cached now
    storage = CookieStorage(RequestFactory().get("/"))
    client.cookies["messages"] = storage._encode([Message(constants.INFO, "Hello, reader.")])
    assert "Hello, reader." in client.get(LESSON).content.decode()
    assert "Hello, reader." not in client.get(LESSON).content.decode()  # shown once


@pytest.mark.django_db
def test_it_keeps_a_bounded_number_of_whole_pages_in_memory(monkeypatch, course):
    """However many variants visitors ask for, a process keeps at most WHOLE_PAGES of
    them; one pushed out is built again, right, when it is asked for next."""
    from sockets_site import page_cache

    monkeypatch.setattr(page_cache, "WHOLE_PAGES", 2)
    monkeypatch.setattr(page_cache, "_whole_pages", page_cache.OrderedDict())
    built = []

    def serve(name: str) -> str:
        def render():
            built.append(name)
            return f'<p>{name}</p><input name="csrfmiddlewaretoken" value="x">'

        return page_cache.whole_page(RequestFactory().get("/"), name, render).decode()

    pages = [serve(name) for name in ("a", "b", "c", "c")]
    assert built == ["a", "b", "c"]
    assert len(page_cache._whole_pages) == 2
    assert "<p>a</p>" in serve("a") and built == ["a", "b", "c", "a"]
    tokens = {_csrf(page) for page in pages}
    assert len(tokens) == 4 and "x" not in tokens  # each request its own token
