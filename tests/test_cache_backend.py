"""Pages keep working when the cache's Redis does not answer."""

import pytest
from django.core.cache import caches
from django.test import override_settings

from tests.factories import make_event, make_story

pytestmark = pytest.mark.django_db

# A unix socket nobody listens on: every cache call fails to connect.
DEAD = {
    "default": {
        "BACKEND": "tracker.cache_backend.ForgivingRedisCache",
        "LOCATION": "unix:///nonexistent/redis.sock",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


def test_cache_calls_become_misses_when_redis_is_down():
    with override_settings(CACHES=DEAD):
        cache = caches.create_connection("default")
        assert cache.get("k", "fallback") == "fallback"
        assert cache.get_many(["a", "b"]) == {}
        cache.set("k", "v")
        assert cache.add("k", "v") is False


def test_public_pages_render_without_the_cache(client):
    story = make_story(slug="meta-scale-ai", title="Meta and Scale AI")
    event = make_event(story, slug="closing", title="Meta takes a stake")
    with override_settings(CACHES=DEAD):
        for url in [story.get_absolute_url(), event.get_absolute_url()]:
            response = client.get(url)
            assert response.status_code == 200
            assert "Meta takes a stake" in response.content.decode()
