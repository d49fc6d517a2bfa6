"""Log-in throttling: repeated failures for one account from one address, or from
one address alone, are refused with a 429 page until the cool-off ends."""

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth.hashers import MD5PasswordHasher

PAIR_LIMIT = 3
ADDRESS_LIMIT = 7
ATTACKER = "203.0.113.7"
HOME = "198.51.100.20"


class CountingHasher(MD5PasswordHasher):
    """A fast hasher that counts how often a password is hashed."""

    algorithm = "counting-md5"
    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


@pytest.fixture
def limits(settings):
    settings.AXES_FAILURE_LIMIT = PAIR_LIMIT
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = ADDRESS_LIMIT
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]


@pytest.fixture
def ada(django_user_model, limits):
    return django_user_model.objects.create_user(
        "ada", password="correct-horse-battery", is_staff=True, is_superuser=True
    )


def log_in(client, password, username="ada", address=ATTACKER, url="/accounts/login/", **extra):
    return client.post(
        url, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def fail(client, times, **kwargs):
    """Wrong passwords; the one that reaches a limit is already answered with 429."""
    return [log_in(client, "wrong", **kwargs).status_code for _ in range(times)]


def assert_refused(response):
    page = response.content.decode()
    assert response.status_code == 429
    assert "Too many log-in attempts" in page
    assert "Please try again after" in page and "UTC" in page
    assert 'href="/accounts/password/reset/"' in page
    assert 'class="skip-link"' in page  # a page of the site, not a bare message


@pytest.mark.django_db
def test_it_refuses_even_the_right_password_after_repeated_failures(client, course, ada):
    assert fail(client, PAIR_LIMIT) == [200] * (PAIR_LIMIT - 1) + [429]
    response = log_in(client, "correct-horse-battery")
    assert_refused(response)
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_it_refuses_a_locked_out_attempt_without_hashing_the_password(client, course, ada):
    fail(client, PAIR_LIMIT)
    CountingHasher.calls = 0
    for _ in range(5):
        assert log_in(client, "another-guess").status_code == 429
    assert CountingHasher.calls == 0


@pytest.mark.django_db
def test_it_says_when_to_try_again(client, course, ada):
    fail(client, PAIR_LIMIT)
    latest = AccessAttempt.objects.get().attempt_time
    until = latest + django_settings.AXES_COOLOFF_TIME
    page = log_in(client, "wrong").content.decode()
    assert f'datetime="{until.isoformat()}"' in page
    assert f"{until:%H:%M} UTC" in page


@pytest.mark.django_db
def test_it_still_lets_the_real_user_log_in_from_another_address(client, course, ada):
    fail(client, PAIR_LIMIT)
    assert log_in(client, "correct-horse-battery").status_code == 429
    response = log_in(client, "correct-horse-battery", address=HOME)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(ada.pk)


@pytest.mark.django_db
def test_it_locks_an_address_that_tries_many_accounts(client, course, ada):
    names = [f"user{n}" for n in range(ADDRESS_LIMIT)]
    for name in names:
        fail(client, 1, username=name)
    assert_refused(log_in(client, "correct-horse-battery"))
    assert log_in(client, "correct-horse-battery", address=HOME).status_code == 302


@pytest.mark.django_db
def test_it_forgets_the_failures_after_a_successful_log_in(client, course, ada):
    fail(client, PAIR_LIMIT - 1)
    assert log_in(client, "correct-horse-battery").status_code == 302
    client.post("/accounts/logout/")
    fail(client, PAIR_LIMIT - 1)
    assert log_in(client, "correct-horse-battery").status_code == 302


@pytest.mark.django_db
def test_it_does_not_let_a_log_in_to_another_account_reset_the_count(
    client, course, ada, django_user_model
):
    django_user_model.objects.create_user("mallory", password="mallorys-own-password")
    fail(client, PAIR_LIMIT - 1)
    assert log_in(client, "mallorys-own-password", username="mallory").status_code == 302
    client.post("/accounts/logout/")
    fail(client, 1)
    assert log_in(client, "correct-horse-battery").status_code == 429


@pytest.mark.django_db
def test_it_lets_log_ins_through_again_after_the_cool_off(client, course, ada):
    fail(client, PAIR_LIMIT)
    assert log_in(client, "correct-horse-battery").status_code == 429
    # The failures were made a cool-off ago (the clock is not what is under test).
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - django_settings.AXES_COOLOFF_TIME
    )
    assert log_in(client, "correct-horse-battery").status_code == 302


@pytest.mark.django_db
def test_it_throttles_the_admin_log_in_too(client, course, ada):
    for _ in range(PAIR_LIMIT - 1):
        response = log_in(client, "wrong", url="/admin/login/")
        assert "Please enter the correct username and password" in response.content.decode()
    assert_refused(log_in(client, "wrong", url="/admin/login/"))
    assert_refused(log_in(client, "correct-horse-battery", url="/admin/login/"))
    assert_refused(log_in(client, "correct-horse-battery"))


@pytest.mark.django_db
def test_it_ignores_a_forged_forwarded_address_unless_behind_a_proxy(client, course, ada):
    for n in range(PAIR_LIMIT):
        fail(client, 1, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response = log_in(client, "correct-horse-battery", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429


@pytest.mark.django_db
def test_it_counts_the_forwarded_address_behind_a_proxy(client, course, ada, settings):
    settings.BEHIND_PROXY = True
    proxy = {"address": "10.0.0.1"}
    fail(client, PAIR_LIMIT, HTTP_X_FORWARDED_FOR=f"{ATTACKER}, 10.0.0.9", **proxy)
    refused = log_in(client, "correct-horse-battery", HTTP_X_FORWARDED_FOR=ATTACKER, **proxy)
    assert refused.status_code == 429
    response = log_in(client, "correct-horse-battery", HTTP_X_FORWARDED_FOR=HOME, **proxy)
    assert response.status_code == 302


@pytest.mark.django_db
def test_it_counts_every_address_of_an_ipv6_64_as_one_place(client, course, ada, settings):
    """One customer gets a whole /64: its 2^64 addresses must share one budget."""
    settings.BEHIND_PROXY = True

    def from_address(address, password, username="ada"):
        forwarded = {"HTTP_X_FORWARDED_FOR": address}
        return log_in(client, password, username, address="10.0.0.1", **forwarded)

    guesses = [from_address(f"2001:db8::{n:x}", "wrong") for n in range(1, PAIR_LIMIT + 1)]
    assert [guess.status_code for guess in guesses] == [200] * (PAIR_LIMIT - 1) + [429]
    assert_refused(from_address("2001:db8::ffff:1234", "correct-horse-battery"))
    assert from_address("2001:db8:0:1::1", "correct-horse-battery").status_code == 302
    client.post("/accounts/logout/")

    for n in range(1, ADDRESS_LIMIT + 1):  # many accounts, each from a fresh address
        from_address(f"2001:db8:0:2::{n:x}", "wrong", username=f"user{n}")
    assert_refused(from_address("2001:db8:0:2:abcd::1", "correct-horse-battery"))
    assert from_address("2001:db8:0:3::1", "correct-horse-battery").status_code == 302


def test_it_refuses_with_the_429_page_under_the_real_server(daphne_server):
    """Under Daphne the middleware runs asynchronously, a different path in Axes.

    The server has the default limits, which this process read from the same environment.
    """
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    url = daphne_server.url + "/accounts/login/"
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', opener.open(url).read().decode()
    ).group(1)
    form = {"csrfmiddlewaretoken": token, "username": "live-throttle", "password": "guess"}
    statuses = []
    for _ in range(django_settings.AXES_FAILURE_LIMIT + 1):
        request = urllib.request.Request(
            url, data=urllib.parse.urlencode(form).encode(), headers={"Referer": url}
        )
        try:
            statuses.append(opener.open(request).status)
        except urllib.error.HTTPError as refused:
            statuses.append(refused.code)
            page = refused.read().decode()
    limit = django_settings.AXES_FAILURE_LIMIT
    assert statuses == [200] * (limit - 1) + [429, 429]
    assert "Too many log-in attempts" in page and "Please try again after" in page


def test_it_counts_one_ipv6_64_as_one_place_under_daphne_behind_a_proxy(browser, tmp_path):
    """DJANGO_BEHIND_PROXY=1 in the real server's environment, the log-in form filled in
    Chromium, each attempt forwarded (as a proxy would say) from another address of one
    /64: that /64 is locked out as one place, another /64 is not."""
    from playwright.sync_api import expect

    from tests.support.browser_pages import new_page, visiting
    from tests.support.live_server import DaphneServer

    limits = {"DJANGO_LOGIN_FAILURE_LIMIT": str(PAIR_LIMIT)}
    limits["DJANGO_LOGIN_ADDRESS_FAILURE_LIMIT"] = str(ADDRESS_LIMIT)
    with DaphneServer(tmp_path, DJANGO_BEHIND_PROXY="1", **limits) as server:
        made = server.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User\n"
            "User.objects.create_user('ada', password='correct-horse-battery')",
        )
        assert made.returncode == 0, made.stderr
        with visiting(new_page(browser, server)) as page:

            def from_address(address, password, username="ada") -> int:
                """The status of the form's POST (302 when it logs in)."""
                page.set_extra_http_headers({"X-Forwarded-For": address})
                page.goto(server.url + "/accounts/login/")
                page.get_by_label("Username").fill(username)
                page.get_by_label("Password").fill(password)
                with page.expect_response(lambda r: r.request.method == "POST") as sent:
                    page.get_by_role("button", name="Log in").click()
                page.wait_for_load_state()
                return sent.value.status

            guesses = [from_address(f"2001:db8::{n:x}", "wrong") for n in range(1, PAIR_LIMIT + 1)]
            assert guesses == [200] * (PAIR_LIMIT - 1) + [429]
            expect(page.get_by_text("Too many log-in attempts")).to_be_visible()
            assert from_address("2001:db8::ffff:1234", "correct-horse-battery") == 429
            assert from_address("2001:db8:0:1::1", "correct-horse-battery") == 302
            expect(page.locator(".account")).to_contain_text("ada")
            page.locator(".account").get_by_role("button", name="Log out").click()
            expect(page.locator(".account")).to_contain_text("Log in")

            # Many accounts, each tried from a fresh address of another /64.
            for n in range(1, ADDRESS_LIMIT + 1):
                from_address(f"2001:db8:0:2::{n:x}", "wrong", username=f"user{n}")
            assert from_address("2001:db8:0:2:abcd::1", "correct-horse-battery") == 429
            assert from_address("2001:db8:0:3::1", "correct-horse-battery") == 302
