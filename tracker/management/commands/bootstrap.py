"""First-run setup for `make run`: the seeded story when there is no story, and
an `admin` superuser. Safe to run on every start: it changes nothing twice."""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from tracker.models import Story
from tracker.storyio import import_story, load_document

SEED_STORY = "meta-scale-ai.json"


class Command(BaseCommand):
    help = "Load the seeded story if the database has none and create the admin user."

    def handle(self, *args, **options) -> None:
        if Story.objects.exists():
            self.stdout.write("Stories present; the seeded story is not loaded again.")
        else:
            path = settings.BASE_DIR / "fixtures" / SEED_STORY
            story = import_story(load_document(path), base_dir=path.parent)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Loaded the story {story.title!r} with {story.events.count()} events."
                )
            )

        User = get_user_model()
        if User.objects.filter(username="admin").exists():
            self.stdout.write("User 'admin' exists; its password is unchanged.")
            return
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "", password)
        if os.environ.get("ADMIN_PASSWORD"):
            self.stdout.write(self.style.SUCCESS("Created superuser 'admin' (ADMIN_PASSWORD)."))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created superuser 'admin' with password: {password}\n"
                    "  (shown once; set ADMIN_PASSWORD to choose it, or run "
                    "`.venv/bin/python manage.py changepassword admin`)"
                )
            )
