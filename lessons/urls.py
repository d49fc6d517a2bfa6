from django.contrib.auth import views as auth
from django.urls import path, reverse_lazy

from lessons.views import accounts, course, quizzes

app_name = "lessons"


def _account(view, template, **kwargs):
    return view.as_view(template_name=f"lessons/accounts/{template}.html", **kwargs)


urlpatterns = [
    path("", course.course, name="index"),
    path("lessons/<slug:slug>/", course.lesson_detail, name="detail"),
    path("lessons/<slug:slug>/read/", course.mark_read, name="mark_read"),
    path("glossary/", course.glossary, name="glossary"),
    path("quizzes/", quizzes.quiz_list, name="quiz_list"),
    path("quizzes/<slug:slug>/", quizzes.take_quiz, name="quiz"),
    path("quizzes/<slug:slug>/attempts/<int:pk>/", quizzes.attempt_result, name="attempt"),
    path("quizzes/<slug:slug>/attempts/<int:pk>/retry/", quizzes.retry_missed, name="retry"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/", accounts.account, name="account"),
    path("accounts/email/", accounts.change_email, name="change_email"),
    path("accounts/progress/delete/", accounts.delete_progress, name="delete_progress"),
    path("accounts/delete/", accounts.delete_account, name="delete_account"),
    path(
        "accounts/login/",
        _account(accounts.LoginView, "login", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        _account(
            auth.PasswordChangeView,
            "password_change",
            success_url=reverse_lazy("lessons:password_change_done"),
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
            accounts.PasswordResetView,
            "password_reset",
            email_template_name="lessons/accounts/password_reset_email.txt",
            subject_template_name="lessons/accounts/password_reset_subject.txt",
            success_url=reverse_lazy("lessons:password_reset_done"),
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
            success_url=reverse_lazy("lessons:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        _account(auth.PasswordResetCompleteView, "password_reset_complete"),
        name="password_reset_complete",
    ),
]
