"""Django's Redis cache, made to fail soft: the public pages are a cache in front
of the database, so when Redis is down or slow they are rendered uncached rather
than answered with an error. Reads become misses, writes are dropped, and each
failure is logged."""

import functools
import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

_MISSES = {
    "get": lambda args, kwargs: kwargs.get("default", args[1] if len(args) > 1 else None),
    "get_many": lambda args, kwargs: {},
    "has_key": lambda args, kwargs: False,
    "add": lambda args, kwargs: False,
    "delete": lambda args, kwargs: False,
    "touch": lambda args, kwargs: False,
}


def _forgiving(name: str):
    method = getattr(RedisCache, name)

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (RedisError, OSError) as error:
            logger.warning("cache %s failed, carrying on without it: %s", name, error)
            miss = _MISSES.get(name)
            return miss(args, kwargs) if miss else None

    return call


class ForgivingRedisCache(RedisCache):
    pass


for _name in (
    "get",
    "get_many",
    "has_key",
    "add",
    "set",
    "set_many",
    "delete",
    "delete_many",
    "touch",
    "clear",
):
    setattr(ForgivingRedisCache, _name, _forgiving(_name))
