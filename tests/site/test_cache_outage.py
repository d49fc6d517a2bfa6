"""The Redis cache while Redis is away: pages and sessions go on from the database, and
what must not be lost (a new page-cache generation, a session's deletion) fails visibly."""

import pytest
from redis.exceptions import RedisError

from sockets_site.cache import TolerantRedisCache
from tests.support.redis_service import RedisServer


@pytest.fixture
def stopped_redis():
    with RedisServer() as server:
        url = server.url
    return url  # the port is free now: every command is refused


def test_it_reads_misses_and_skips_page_writes_while_redis_is_away(stopped_redis, caplog):
    cache = TolerantRedisCache(stopped_redis, {})
    assert cache.get("lesson", "built from the database") == "built from the database"
    assert cache.get_many(["a", "b"]) == {}
    cache.set("lesson", "part")  # skipped, not raised
    assert cache.add("lesson", "part") is False
    warnings = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1  # one line for the outage, not one per call
    assert not any(r.exc_info for r in caplog.records)


def test_it_refuses_writes_that_must_not_be_lost_while_redis_is_away(stopped_redis):
    cache = TolerantRedisCache(stopped_redis, {})
    with pytest.raises(RedisError):
        cache.strict.set("generation", "new")
    with pytest.raises(RedisError):  # a log-out must not leave the session in the cache
        cache.delete("session")
    with pytest.raises(RedisError):
        cache.delete_many(["session"])


def test_it_uses_redis_again_once_it_is_back():
    with RedisServer() as server:
        cache = TolerantRedisCache(server.url, {})
        cache.set("lesson", "part")
        assert cache.get("lesson") == "part"
