import pytest

from tracker.health import HEARTBEAT_KEY, record_tick

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_when_database_and_redis_answer(client, redis_client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["redis"] == "ok"
    assert body["scheduler"] == "no tick recorded yet"


def test_strict_healthz_fails_until_beat_has_ticked(client, redis_client):
    assert client.get("/healthz?strict=1").status_code == 503
    record_tick()
    response = client.get("/healthz?strict=1")
    assert response.status_code == 200
    assert response.json()["scheduler"].startswith("last tick")


def test_a_stale_tick_is_reported(client, redis_client):
    redis_client.set(HEARTBEAT_KEY, "0")
    body = client.get("/healthz?strict=1").json()
    assert body["status"] == "failing" and "last tick" in body["scheduler"]
