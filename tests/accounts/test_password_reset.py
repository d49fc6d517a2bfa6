"""The optional e-mail address and password reset: sign-up asks for the address and says
what it is for; a forgotten password is reset through the mail, end to end in Chromium
against Daphne (the file mail backend, read by the test); the reset page answers an
unknown address as it answers a known one, and tells a learner without an address what
to do."""

import email
import re
import uuid

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.support.browser_pages import new_page, visiting
from tests.support.live_server import DaphneServer

EMAIL_HELP = "Needed only to reset a forgotten password."
PASSWORD = "a-very-long-passphrase"


def sign_up(client, username, address=""):
    form = {"username": username, "email": address, "password1": PASSWORD, "password2": PASSWORD}
    return client.post("/accounts/signup/", form)


@pytest.mark.django_db
def test_it_asks_an_optional_email_at_sign_up_and_says_what_for(client, course, django_user_model):
    page = client.get("/accounts/signup/").content.decode()
    assert re.search(r'<label for="id_email">E-mail address \(optional\)</label>', page)
    assert '<input type="email" name="email"' in page
    assert EMAIL_HELP in page
    assert sign_up(client, "grace", "Grace@Example.ORG").status_code == 302
    assert django_user_model.objects.get(username="grace").email == "Grace@example.org"
    client.post("/accounts/logout/")
    assert sign_up(client, "ada").status_code == 302  # no address: still an account
    assert django_user_model.objects.get(username="ada").email == ""


@pytest.mark.django_db
def test_it_answers_an_unknown_address_exactly_as_a_known_one(client, course):
    sign_up(client, "grace", "grace@example.org")
    client.post("/accounts/logout/")
    known = client.post("/accounts/password/reset/", {"email": "grace@example.org"})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/accounts/password/reset/sent/"
    assert [message.to for message in mail.outbox] == [["grace@example.org"]]
    page = client.get(unknown["Location"]).content.decode()
    assert "If an account uses that address" in page


@pytest.mark.django_db
def test_it_tells_a_learner_without_an_address_what_to_do(client, course):
    page = client.get("/accounts/password/reset/").content.decode()
    assert "No e-mail address on your account?" in page
    assert "no link can be sent" in page
    assert 'href="/accounts/"' in page  # add one where still logged in


@pytest.mark.django_db
def test_it_changes_the_address_only_with_the_password(client, course, django_user_model):
    sign_up(client, "ada")
    page = client.get("/accounts/").content.decode()
    assert "Without one, a forgotten password cannot be reset by e-mail." in page
    assert 'href="/accounts/email/"' in page
    wrong = client.post("/accounts/email/", {"email": "ada@example.org", "password": "guess"})
    assert "That is not your password." in wrong.content.decode()
    assert django_user_model.objects.get(username="ada").email == ""
    right = client.post("/accounts/email/", {"email": "ada@example.org", "password": PASSWORD})
    assert right["Location"] == "/accounts/"
    assert django_user_model.objects.get(username="ada").email == "ada@example.org"
    page = client.get("/accounts/").content.decode()
    assert "Your e-mail address is now ada@example.org." in page


@pytest.fixture(scope="module")
def mail_site(tmp_path_factory):
    """The site under Daphne, writing its mail to files the test reads."""
    workdir = tmp_path_factory.mktemp("mail-site")
    outbox = workdir / "mail"
    backend = "django.core.mail.backends.filebased.EmailBackend"
    with DaphneServer(
        workdir, DJANGO_EMAIL_BACKEND=backend, DJANGO_EMAIL_FILE_PATH=str(outbox)
    ) as server:
        server.outbox = outbox
        yield server


def sent_mail(outbox) -> list[email.message.Message]:
    if not outbox.exists():
        return []
    return [email.message_from_bytes(path.read_bytes()) for path in sorted(outbox.iterdir())]


def test_it_resets_a_forgotten_password_through_the_mail_in_a_browser(browser, mail_site):
    username = f"reader-{uuid.uuid4().hex[:8]}"
    address = f"{username}@example.org"
    with visiting(new_page(browser, mail_site)) as page:
        page.goto(page.base + "/accounts/signup/")
        expect(page.get_by_text(EMAIL_HELP)).to_be_visible()
        page.get_by_label("Username").fill(username)
        page.get_by_label("E-mail address (optional)").fill(address)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password confirmation").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.get_by_role("button", name="Log out").click()

        page.goto(page.base + "/accounts/login/")
        page.get_by_role("link", name="Forgotten your password?").click()
        page.get_by_label("Email").fill("someone-else@example.org")
        page.get_by_role("button", name="Send the link").click()
        expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
        assert sent_mail(mail_site.outbox) == []  # and the page said the same as below

        page.goto(page.base + "/accounts/password/reset/")
        page.get_by_label("Email").fill(address)
        page.get_by_role("button", name="Send the link").click()
        expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
        [message] = sent_mail(mail_site.outbox)
        assert message["To"] == address
        assert message["Subject"] == "Reset your Sockets password"
        body = message.get_payload(decode=True).decode()
        link = re.search(r"(http://\S+/accounts/password/reset/\S+/)", body).group(1)

        page.goto(link)
        page.get_by_label("New password", exact=True).fill("brand-new-passphrase")
        page.get_by_label("New password confirmation").fill("brand-new-passphrase")
        page.get_by_role("button", name="Set password").click()
        expect(page.get_by_role("heading", name="Password set")).to_be_visible()
        page.get_by_role("main").get_by_role("link", name="log in").click()
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)  # the old one no longer works
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
        page.get_by_label("Password").fill("brand-new-passphrase")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator(".account")).to_contain_text(username)

        page.goto(link)  # a link works once
        expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()


def test_it_limits_reset_mails_per_address_and_per_place_without_telling_who_has_an_account(
    client, course, settings
):
    settings.PASSWORD_RESET_LIMIT = 2
    sign_up(client, "grace", "grace@example.org")
    client.post("/accounts/logout/")

    def ask(address, place="127.0.0.1"):
        return client.post("/accounts/password/reset/", {"email": address}, REMOTE_ADDR=place)

    assert ask("grace@example.org").status_code == 302
    assert ask("GRACE@example.org", place="127.0.0.2").status_code == 302
    # A third mail to the same inbox within the hour is refused, from anywhere, and so is a
    # third ask from one place, for an address nobody has: the answer is the same, so it
    # tells nothing about accounts.
    assert ask("other@example.org").status_code == 302  # the second from 127.0.0.1
    for address, place in (("grace@example.org", "127.0.0.3"), ("nobody@x.org", "127.0.0.1")):
        refused = ask(address, place)
        assert refused.status_code == 200
        assert "Too many password reset mails" in refused.content.decode()
    assert len(mail.outbox) == 2
    # Another place asking for another address is still served.
    assert ask("someone@example.org", place="127.0.0.9").status_code == 302
