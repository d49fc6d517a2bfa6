from html import unescape

import pytest

from lessons.models import Lesson


@pytest.fixture
def draft(db):
    return Lesson.objects.create(
        title="Draft lesson",
        slug="draft",
        order=9,
        summary="Not out yet.",
        body="## Coming soon\n\nA **draft** body.",
        published=False,
    )


@pytest.mark.django_db
def test_it_lets_staff_preview_a_lesson_before_it_is_published(staff_client, draft):
    response = staff_client.get(f"/admin/lessons/lesson/{draft.pk}/preview/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "This is how the lesson will look to students" in page
    assert "<strong>draft</strong>" in page
    assert Lesson.objects.get(pk=draft.pk).published is False


@pytest.mark.django_db
def test_it_previews_unsaved_changes_without_saving_them(staff_client, draft):
    response = staff_client.post(
        "/admin/lessons/lesson/preview/",
        {"title": "Renamed", "summary": "New summary", "body": "Fresh *words*."},
    )
    page = response.content.decode()
    assert '<h1 id="lesson-title">Renamed</h1>' in page and "<em>words</em>" in page
    assert Lesson.objects.get(pk=draft.pk).title == "Draft lesson"


@pytest.mark.django_db
def test_it_puts_a_preview_button_on_the_lesson_form(staff_client, draft):
    page = staff_client.get(f"/admin/lessons/lesson/{draft.pk}/change/").content.decode()
    assert 'formaction="/admin/lessons/lesson/preview/"' in page
    assert f'href="/admin/lessons/lesson/{draft.pk}/preview/"' in page


@pytest.mark.django_db
def test_it_refuses_the_preview_to_students_and_visitors(client, student_client, draft):
    for visitor in (client, student_client):
        response = visitor.get(f"/admin/lessons/lesson/{draft.pk}/preview/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
        response = visitor.post("/admin/lessons/lesson/preview/", {"body": "x"})
        assert response.status_code in (302, 403)


@pytest.mark.django_db
def test_it_prepopulates_the_slug_from_the_title(staff_client):
    page = unescape(staff_client.get("/admin/lessons/lesson/add/").content.decode())
    assert '"id": "#id_slug"' in page and '"dependency_ids": ["#id_title"]' in page


@pytest.mark.django_db
def test_it_lets_staff_reorder_and_publish_from_the_list(staff_client, course):
    lessons = list(Lesson.objects.all())
    data = {
        "form-TOTAL_FORMS": str(len(lessons)),
        "form-INITIAL_FORMS": str(len(lessons)),
        "_save": "Save",
    }
    for i, lesson in enumerate(lessons):
        data[f"form-{i}-id"] = str(lesson.pk)
        data[f"form-{i}-order"] = str(100 - lesson.order)  # reverse the course
        data[f"form-{i}-published"] = "on"
    response = staff_client.post("/admin/lessons/lesson/", data)
    assert response.status_code == 302
    assert Lesson.objects.values_list("slug", flat=True).first() == "the-5-tuple"


@pytest.mark.django_db
def test_it_sanitises_a_lesson_saved_through_the_admin(staff_client, client):
    response = staff_client.post(
        "/admin/lessons/lesson/add/",
        {
            "title": "Tricky",
            "slug": "tricky",
            "order": 1,
            "summary": "s",
            "published": "on",
            "body": 'Hello <img src=x onerror="alert(1)"><script>alert(2)</script>',
        },
    )
    assert response.status_code == 302
    page = client.get("/lessons/tricky/").content.decode()
    assert "Hello" in page
    assert "onerror" not in page and "alert(2)" not in page
