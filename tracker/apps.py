from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Timeline tracker"
    default_auto_field = "django.db.models.BigAutoField"
