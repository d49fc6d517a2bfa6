"""Account views: sign-up, log-in with a checked `next`, the account page, the
e-mail address, and deleting one's progress or account.

Rules: every redirect after a form goes through lessons.views.next_url, so a
`next` that is not a path on this site lands on the course page. The e-mail
address is optional and used only for password reset. Changing it or deleting
the account asks for the password, checked through authenticate() so that
log-in throttling counts wrong ones (a borrowed session cannot guess it). A
visitor without an account can delete the progress kept for their browser.
Staff accounts are not deleted here: another staff member does it in the admin,
which keeps the admin's history in someone's hands. Password reset mails are limited
per client network and per address asked for (PASSWORD_RESET_LIMIT an hour), counted
whether or not an account has that address, so the limit tells nothing about accounts.
"""

import hashlib

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth import views as auth
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import progress
from lessons import learners as course_progress
from lessons.views.next_url import is_safe_next, next_url
from sockets_site.client_ip import throttled_network
from sockets_site.learners import SESSION_KEY, Learner, learner_for

EMAIL_HELP = "Needed only to reset a forgotten password. We send nothing else."


def _email_field(label: str) -> forms.EmailField:
    return forms.EmailField(
        label=label,
        required=False,
        help_text=EMAIL_HELP,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


RESET_WINDOW = 3600  # seconds over which PASSWORD_RESET_LIMIT counts


def _reset_allowed(request, email: str) -> bool:
    """Count this request against its network and its address; False past the limit."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    allowed = True
    for key in (f"password-reset:net:{throttled_network(request)}", f"password-reset:to:{digest}"):
        cache.add(key, 0, RESET_WINDOW)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr(): a new window
            cache.set(key, count := 1, RESET_WINDOW)
        allowed = allowed and count <= settings.PASSWORD_RESET_LIMIT
    return allowed


class PasswordResetView(auth.PasswordResetView):
    def form_valid(self, form):
        if not _reset_allowed(self.request, form.cleaned_data["email"]):
            form.add_error(
                "email",
                "Too many password reset mails were asked for from here or for this address "
                "in the last hour. Please try again later.",
            )
            return self.form_invalid(form)
        return super().form_valid(form)


class LoginView(auth.LoginView):
    def get_redirect_url(self):
        # Django's check lets a relative `abc` through; it would land on a 404 or worse.
        target = super().get_redirect_url()
        return target if is_safe_next(self.request, target) else ""


class SignUpForm(UserCreationForm):
    email = _email_field("E-mail address (optional)")
    field_order = ["username", "email", "password1", "password2"]

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def clean_email(self):
        return get_user_model().objects.normalize_email(self.cleaned_data["email"])


class PasswordCheckForm(forms.Form):
    """A form that also asks for the account's current password."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self):
        password = self.cleaned_data["password"]
        user = self.request.user
        checked = authenticate(self.request, username=user.get_username(), password=password)
        if checked is None or checked.pk != user.pk:
            raise forms.ValidationError("That is not your password.")
        return password


class EmailForm(PasswordCheckForm):
    email = _email_field("E-mail address")
    field_order = ["email", "password"]

    def clean_email(self):
        return get_user_model().objects.normalize_email(self.cleaned_data["email"])


def signup(request):
    target = next_url(request)
    if request.user.is_authenticated:
        return redirect(target)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        # Logging in moves the visitor's reads and attempts to the new account.
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request, f"Welcome, {user.username}. Your progress is saved to your account."
        )
        return redirect(target)
    return render(request, "accounts/signup.html", {"form": form, "next": target})


def account(request):
    learner = learner_for(request)
    return render(
        request,
        "accounts/account.html",
        {"counts": course_progress.progress_counts(learner)},
    )


@login_required
def change_email(request):
    user = request.user
    form = EmailForm(request, request.POST or None, initial={"email": user.email})
    if request.method == "POST" and form.is_valid():
        user.email = form.cleaned_data["email"]
        user.save(update_fields=["email"])
        if user.email:
            messages.success(request, f"Your e-mail address is now {user.email}.")
        else:
            messages.success(request, "Your account has no e-mail address now.")
        return redirect("accounts:account")
    return render(request, "accounts/email.html", {"form": form})


@require_http_methods(["GET", "POST"])
def delete_progress(request):
    learner = learner_for(request)
    counts = course_progress.progress_counts(learner)
    if request.method == "POST":
        course_progress.delete_progress(learner)
        if learner.user is None:
            # What this browser does next starts afresh, under a new key.
            request.session.pop(SESSION_KEY, None)
        if counts:
            done = "; ".join(f"{name}: {count}" for name, count in counts.items())
            messages.success(request, f"Your progress is deleted ({done}).")
        else:
            messages.success(request, "There was no progress to delete.")
        return redirect("accounts:account")
    return render(request, "accounts/delete_progress.html", {"counts": counts})


@login_required
def delete_account(request):
    user = request.user
    form = PasswordCheckForm(request, request.POST or None)
    if request.method == "POST" and not user.is_staff and form.is_valid():
        name = user.get_username()
        progress.delete_account(user)
        logout(request)
        messages.success(request, f"The account {name} and all its progress are deleted. Goodbye.")
        return redirect("lessons:index")
    context = {"form": form, "counts": course_progress.progress_counts(Learner(user))}
    return render(request, "accounts/delete_account.html", context)
