from django.urls import path

from lessons import views

app_name = "lessons"

urlpatterns = [
    path("", views.course, name="index"),
    path("lessons/<slug:slug>/", views.lesson_detail, name="detail"),
    path("glossary/", views.glossary, name="glossary"),
]
