"""After signing up or logging in, a visitor goes to the `next` page they came
from only when it is a path on this site; anything else lands on the course page."""

import pytest

BAD = ["abc", "//evil.example", "https://evil.example/", "javascript:alert(1)", "/\\evil.example"]
PASSWORD = "a-very-long-passphrase"


def sign_up(client, next_url, username="grace"):
    return client.post(
        f"/accounts/signup/?next={next_url}",
        {"username": username, "password1": PASSWORD, "password2": PASSWORD},
    )


def log_in(client, next_url):
    return client.post(
        "/accounts/login/", {"username": "ada", "password": PASSWORD, "next": next_url}
    )


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user("ada", password=PASSWORD)


@pytest.mark.django_db
@pytest.mark.parametrize("target", BAD)
def test_it_sends_a_new_account_with_a_bad_next_to_the_course(client, course, target):
    response = sign_up(client, target)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "grace" in client.get("/").content.decode()


@pytest.mark.django_db
def test_it_sends_a_new_account_to_a_good_next(client, course):
    assert sign_up(client, "/quizzes/")["Location"] == "/quizzes/"


@pytest.mark.django_db
@pytest.mark.parametrize("target", BAD)
def test_it_sends_a_log_in_with_a_bad_next_to_the_course(client, course, ada, target):
    response = log_in(client, target)
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_it_sends_a_log_in_to_a_good_next(client, course, ada):
    assert log_in(client, "/quizzes/")["Location"] == "/quizzes/"


@pytest.mark.django_db
@pytest.mark.parametrize("target", BAD)
def test_it_never_puts_a_bad_next_in_the_log_in_form(client, course, target):
    page = client.get("/accounts/login/", {"next": target}).content.decode()
    assert 'name="next" value=""' in page


@pytest.mark.django_db
@pytest.mark.parametrize("target", BAD)
def test_it_sends_a_lesson_read_with_a_bad_next_back_to_the_lesson(client, course, target):
    response = client.post("/lessons/ports/read/", {"next": target})
    assert response["Location"] == "/lessons/ports/"
