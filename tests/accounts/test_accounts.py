import re

import pytest
from django.core import mail


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user(
        "ada", email="ada@example.org", password="correct-horse-battery"
    )


@pytest.mark.django_db
def test_it_signs_up_logs_out_and_logs_back_in(client, course):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "password1": "a-very-long-passphrase",
            "password2": "a-very-long-passphrase",
            "next": "/glossary/",
        },
    )
    assert response["Location"] == "/glossary/"
    page = client.get("/").content.decode()
    assert "grace" in page and "Log out" in page
    client.post("/accounts/logout/")
    assert "Log in" in client.get("/").content.decode()
    response = client.post(
        "/accounts/login/", {"username": "grace", "password": "a-very-long-passphrase"}
    )
    assert response.status_code == 302
    assert "grace" in client.get("/").content.decode()


@pytest.mark.django_db
def test_it_rerenders_a_bad_sign_up_with_messages(client, course, ada):
    response = client.post(
        "/accounts/signup/", {"username": "ada", "password1": "short", "password2": "other"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "A user with that username already exists." in page
    assert "password fields didn’t match" in page
    assert 'value="ada"' in page  # what was typed is kept


@pytest.mark.django_db
def test_it_explains_a_failed_login(client, course, ada):
    response = client.post("/accounts/login/", {"username": "ada", "password": "wrong"})
    assert "Please enter a correct username and password" in response.content.decode()


@pytest.mark.django_db
def test_it_changes_a_password(client, course, ada):
    client.force_login(ada)
    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": "correct-horse-battery",
            "new_password1": "another-long-secret",
            "new_password2": "another-long-secret",
        },
    )
    assert response["Location"] == "/accounts/password/change/done/"
    ada.refresh_from_db()
    assert ada.check_password("another-long-secret")


@pytest.mark.django_db
def test_it_resets_a_forgotten_password_by_email(client, course, ada):
    response = client.post("/accounts/password/reset/", {"email": "ada@example.org"})
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body)
    assert "Reset your Sockets password" in mail.outbox[0].subject
    form_url = client.get(link.group(1))["Location"]
    page = client.get(form_url).content.decode()
    assert "Choose a new password" in page
    response = client.post(
        form_url, {"new_password1": "brand-new-passphrase", "new_password2": "brand-new-passphrase"}
    )
    assert response["Location"] == "/accounts/password/reset/complete/"
    response = client.post(
        "/accounts/login/", {"username": "ada", "password": "brand-new-passphrase"}
    )
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_it_protects_account_forms_with_csrf(course, ada):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        "/accounts/login/", {"username": "ada", "password": "correct-horse-battery"}
    )
    assert response.status_code == 403
    page = strict.get("/accounts/login/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page


@pytest.mark.django_db
def test_it_ties_each_field_error_and_help_to_its_box_for_screen_readers(client, course, ada):
    page = client.post(
        "/accounts/signup/", {"username": "ada", "password1": "short", "password2": "other"}
    ).content.decode()
    described = re.findall(r'<input[^>]*aria-describedby="([^"]+)"', page)
    assert described
    ids = [i for value in described for i in value.split()]
    assert any(i.endswith("_error") for i in ids)
    for element_id in ids:
        assert f'id="{element_id}"' in page, element_id
