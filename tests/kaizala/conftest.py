"""Fixtures for the client tests: a scripted local server, Redis with a per-test key prefix, recorders."""

import os
import uuid

import pytest
import redis

from kaizala import CallRecord

from .scripted_server import ScriptedServer

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def scripted():
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    yield client
    client.close()


@pytest.fixture
def key_prefix(redis_client):
    """A Redis key prefix of this test only; its keys are deleted afterwards."""
    prefix = f"test:kaizala:{uuid.uuid4().hex}"
    yield prefix
    for key in redis_client.scan_iter(f"{prefix}:*"):
        redis_client.delete(key)


class Recorder:
    def __init__(self):
        self.records: list[CallRecord] = []

    def __call__(self, record: CallRecord) -> None:
        self.records.append(record)

    @property
    def last(self) -> CallRecord:
        return self.records[-1]


@pytest.fixture
def recorder():
    return Recorder()
