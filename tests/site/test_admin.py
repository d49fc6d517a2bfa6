import json
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


@pytest.mark.django_db
def test_it_renders_the_editor_preview_with_the_sites_renderer_and_sanitiser(staff_client):
    from lessons.models import GlossaryTerm

    GlossaryTerm.objects.create(term="port", slug="port", definition="A number.")
    response = staff_client.post(
        "/admin/lessons/lesson/render/",
        {"body": "## A port\n\nA *port*, **bold** <script>alert(1)</script><b onclick='x()'>b</b>"},
    )
    html = response.json()["html"]
    assert '<h2 id="a-port">' in html and "<strong>bold</strong>" in html
    assert "<script" not in html and "onclick" not in html
    assert 'class="glossary-term"' in html  # glossary links, as on the lesson page


@pytest.mark.django_db
def test_it_keeps_the_editor_preview_for_staff_only(client, student_client):
    for visitor in (client, student_client):
        response = visitor.post("/admin/lessons/lesson/render/", {"body": "*x*"})
        assert response.status_code in (302, 403)
        assert b"<em>" not in response.content


@pytest.mark.django_db
def test_it_gives_the_lesson_body_a_tall_markdown_editor(staff_client, draft):
    page = staff_client.get(f"/admin/lessons/lesson/{draft.pk}/change/").content.decode()
    assert 'rows="30"' in page and "data-markdown-editor" in page
    assert 'data-preview-url="/admin/lessons/lesson/render/"' in page
    assert "easymde.min.js" in page and 'type="module"' in page


def test_it_offers_every_kind_and_key_of_the_check_language_as_fields():
    from labs.admin import check_schema
    from playground.labs import checks as lab_checks

    schema = check_schema()
    assert [kind["key"] for kind in schema["kinds"]] == list(lab_checks.KINDS)
    assert [f["key"] for f in schema["socketFields"]] == list(lab_checks.FIELDS)
    assert [f["key"] for f in schema["packetFields"]] == list(lab_checks.PACKET_FIELDS)
    # Each key has an input of its own (none falls back to typing JSON), and the words
    # for a wrong value are the check language's.
    assert all(f["input"] != "json" for f in schema["socketFields"] + schema["packetFields"])
    fields = {f["key"]: f for f in schema["socketFields"]}
    assert fields["state"]["choices"] == list(lab_checks.STATES)
    assert fields["device"]["choices"] == list(lab_checks.DEVICES)
    assert fields["port"]["wants"] == "a port number from 1 to 65535"


def check_answer(client, check, test=False):
    return client.post(
        "/admin/labs/experiment/check/",
        json.dumps({"check": check, "test": test}),
        content_type="application/json",
    )


@pytest.mark.django_db
def test_it_says_which_field_of_a_check_is_wrong(staff_client):
    check = {"all": [{"ok": "tcp.listen"}, {"socket": {"port": 70000, "role": "boss"}}]}
    answer = check_answer(staff_client, check).json()
    assert answer["fields"] == {
        "check.all.1.socket.port": "Port must be a port number from 1 to 65535.",
        "check.all.1.socket.role": "Role must be one of listener, client, accepted, udp.",
    }
    assert any("'port' must be a port number" in error for error in answer["errors"])
    good = check_answer(staff_client, {"socket": {"port": 3000}}).json()
    assert good == {"errors": [], "fields": {}}


@pytest.mark.django_db
def test_it_says_when_there_is_no_sandbox_to_test_a_check_against(staff_client):
    answer = check_answer(staff_client, {"socket": {"port": 3000}}, test=True).json()
    assert answer["result"]["outcome"] == "no-sandbox"
    assert answer["result"]["message"].startswith("No sandbox open")


@pytest.mark.django_db
def test_it_keeps_the_check_helper_for_staff_only(client, student_client):
    for visitor in (client, student_client):
        response = check_answer(visitor, {"socket": {}}, test=True)
        assert response.status_code in (302, 403)


@pytest.mark.django_db
def test_it_answers_a_check_nested_too_deeply_or_not_an_object_with_words(staff_client):
    deep = '{"check": ' + '{"all": [' * 5000 + "]}" * 5000 + ', "test": false}'
    for body in (deep, '["not", "an", "object"]', "{"):
        answer = staff_client.post(
            "/admin/labs/experiment/check/", body, content_type="application/json"
        )
        assert answer.status_code == 400
        assert answer.json()["errors"][0] in (
            "Send the check as JSON.",
            "That check is nested too deeply.",
        )
