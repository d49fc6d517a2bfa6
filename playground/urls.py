from django.urls import path

from playground import views

app_name = "playground"

urlpatterns = [
    path("", views.index, name="index"),
    path("session/", views.session, name="session"),
    path("route/", views.route, name="route"),
]
