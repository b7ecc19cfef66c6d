from django.contrib import admin
from django.urls import include, path

from tracker.health import healthz

admin.site.site_header = "Timeline tracker"
admin.site.site_title = "Timeline tracker admin"
admin.site.index_title = "Stories, events and the review queue"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("tracker.urls")),
]
