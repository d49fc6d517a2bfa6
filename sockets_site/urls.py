from django.contrib import admin
from django.urls import include, path

from sockets_site.health import healthz

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("_nested_admin/", include("nested_admin.urls")),
    path("playground/", include("playground.urls")),
    path("review/", include("review.urls")),
    path("", include("accounts.urls")),
    path("", include("lessons.urls")),
]

admin.site.site_header = "Sockets — staff"
admin.site.site_title = "Sockets staff"
admin.site.index_title = "Course content"
