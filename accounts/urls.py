"""The account pages, at the paths they always had (/accounts/...); app_name "accounts".

Rules: Django's own auth views are used as they are, with this app's templates; only
log-in (a checked `next`) and password reset (limited mails) are views of ours.
"""

from django.contrib.auth import views as auth
from django.urls import path, reverse_lazy

from accounts import views

app_name = "accounts"


def _account(view, template, **kwargs):
    return view.as_view(template_name=f"accounts/{template}.html", **kwargs)


urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/", views.account, name="account"),
    path("accounts/email/", views.change_email, name="change_email"),
    path("accounts/progress/delete/", views.delete_progress, name="delete_progress"),
    path("accounts/delete/", views.delete_account, name="delete_account"),
    path(
        "accounts/login/",
        _account(views.LoginView, "login", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        _account(
            auth.PasswordChangeView,
            "password_change",
            success_url=reverse_lazy("accounts:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        _account(auth.PasswordChangeDoneView, "password_change_done"),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/",
        _account(
            views.PasswordResetView,
            "password_reset",
            email_template_name="accounts/password_reset_email.txt",
            subject_template_name="accounts/password_reset_subject.txt",
            success_url=reverse_lazy("accounts:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        _account(auth.PasswordResetDoneView, "password_reset_done"),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        _account(
            auth.PasswordResetConfirmView,
            "password_reset_confirm",
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        _account(auth.PasswordResetCompleteView, "password_reset_complete"),
        name="password_reset_complete",
    ),
]
