"""One Redis connection pool per process, for locks and the shared rate limiter."""

import os
from functools import cache

import redis
from django.conf import settings


@cache
def _client_for(pid: int, url: str) -> redis.Redis:
    # Keyed by pid: a forked Celery worker must not share its parent's sockets.
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)


def redis_client() -> redis.Redis:
    return _client_for(os.getpid(), settings.REDIS_URL)
