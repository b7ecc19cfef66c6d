"""The tracker's own client of the Redis that Celery uses as its broker: for the
per-host politeness gate and the scheduler's heartbeat. One per process."""

import functools

import redis
from django.conf import settings

from config.embedded_redis import redis_client_url


@functools.cache
def redis_client() -> redis.Redis:
    # Bounded waits: a Redis that does not answer is an error to report, not a hang.
    return redis.Redis.from_url(
        redis_client_url(settings.REDIS_URL), socket_timeout=2, socket_connect_timeout=2
    )
