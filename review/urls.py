from django.urls import path

from review import views

app_name = "review"

urlpatterns = [
    path("", views.review, name="index"),
    path("warm-up/<slug:slug>/", views.warm_up_answer, name="warm_up"),
]
