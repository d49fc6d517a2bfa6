"""Account views: sign-up, and log-in with a checked `next`.

Rules: every redirect after a form goes through lessons.views.next_url, so a
`next` that is not a path on this site lands on the course page.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render

from lessons.views.next_url import is_safe_next, next_url


class LoginView(auth.LoginView):
    def get_redirect_url(self):
        # Django's check lets a relative `abc` through; it would land on a 404 or worse.
        target = super().get_redirect_url()
        return target if is_safe_next(self.request, target) else ""


def signup(request):
    target = next_url(request)
    if request.user.is_authenticated:
        return redirect(target)
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        # Logging in moves the visitor's reads and attempts to the new account.
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request, f"Welcome, {user.username}. Your progress is saved to your account."
        )
        return redirect(target)
    return render(request, "lessons/accounts/signup.html", {"form": form, "next": target})
