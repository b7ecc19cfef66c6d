"""The Editor and Reviewer groups.

Permissions are normally created after the last migration; they are created
here first so the groups can be given them on a fresh database.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

TIMELINE = ["story", "event", "citation", "claim", "claimvalue", "source", "entity"]

GROUPS = {
    # Edits and publishes events, and reviews the queue.
    "Editor": [
        *(f"{verb}_{model}" for model in TIMELINE for verb in ("add", "change", "delete", "view")),
        "publish_event",
        "view_feed",
        "view_article",
        "review_article",
        "view_articledecision",
    ],
    # Works the review queue only: accepting an article adds its source and
    # citation, but the reviewer neither edits nor publishes events.
    "Reviewer": [
        *(f"view_{model}" for model in TIMELINE),
        "view_feed",
        "view_article",
        "review_article",
        "view_articledecision",
        "add_citation",
        "add_source",
    ],
}


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(
            content_type__app_label="tracker", codename__in=codenames
        )
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions not found for the {name} group: {sorted(missing)}")
        group.permissions.set(permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tracker", "0002_review_decisions"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
