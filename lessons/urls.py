"""The course's pages: lessons, glossary, quizzes (the account pages: accounts.urls)."""

from django.urls import path

from lessons.views import course, quizzes

app_name = "lessons"

urlpatterns = [
    path("", course.course, name="index"),
    path("lessons/<slug:slug>/", course.lesson_detail, name="detail"),
    path("lessons/<slug:slug>/read/", course.mark_read, name="mark_read"),
    path("glossary/", course.glossary, name="glossary"),
    path("quizzes/", quizzes.quiz_list, name="quiz_list"),
    path("quizzes/<slug:slug>/", quizzes.take_quiz, name="quiz"),
    path("quizzes/<slug:slug>/attempts/<int:pk>/", quizzes.attempt_result, name="attempt"),
    path("quizzes/<slug:slug>/attempts/<int:pk>/retry/", quizzes.retry_missed, name="retry"),
]
