from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Timeline tracker"
admin.site.site_title = "Timeline tracker admin"
admin.site.index_title = "Stories, events and the review queue"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("tracker.urls")),
]
