"""Django's Redis cache, tolerant of Redis going away (a restart, a blip).

Rules: a read while Redis is away is a miss, logged once per outage without a
traceback, so pages and sessions are read from the database, which is the
truth (sessions are `cached_db`). A write is skipped: a skipped entry is only
a page part built again, and Django's cached_db sessions already ignore a
failed cache write on save. Two things must not be skipped, and raise as
Django's own backend does:
- deletes: a log-out that could not reach the cache must fail, not leave the
  old session readable there once Redis is back;
- the page cache's generation, which a staff edit replaces (written through
  `strict`): an edit made during an outage fails visibly instead of leaving
  stale pages.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

from playground.outage import Outage

outage = Outage("Redis (the cache)")


def _tolerant(name: str, fallback):
    method = getattr(RedisCache, name)

    def tolerant(self, *args, **kwargs):
        try:
            result = method(self, *args, **kwargs)
        except RedisError as error:
            outage.failed(error)
            return fallback(*args, **kwargs) if callable(fallback) else fallback
        outage.recovered()
        return result

    tolerant.__name__ = name
    return tolerant


# Connection pools by server and options, for the whole process.
_pools: dict[tuple, object] = {}
_clients: dict[tuple, object] = {}


class KeptClient(RedisCacheClient):
    """Django's Redis client, sharing its pools and clients across the process.

    Django keeps one cache object per thread and per asynchronous context, so under
    ASGI every request gets a new one, and with it a new connection pool: a TCP
    connection and its HELLO to Redis for every request, which cost more than the
    page. Django also makes a new redis-py client for every operation. Pools and
    clients are safe to share between threads (a client takes a connection from the
    pool for each command).
    """

    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        key = (self._servers[index], repr(sorted(self._pool_options.items())))
        if key not in _pools:
            _pools[key] = self._pool_class.from_url(self._servers[index], **self._pool_options)
        return _pools[key]

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        if id(pool) not in _clients:
            _clients[id(pool)] = self._client(connection_pool=pool)
        return _clients[id(pool)]


class TolerantRedisCache(RedisCache):
    get = _tolerant("get", lambda key, default=None, version=None: default)
    get_many = _tolerant("get_many", {})
    has_key = _tolerant("has_key", False)
    set = _tolerant("set", None)
    add = _tolerant("add", False)
    touch = _tolerant("touch", False)
    set_many = _tolerant("set_many", lambda data, *args, **kwargs: list(data))

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = KeptClient
        self.strict = RedisCache(server, params)
        self.strict._class = KeptClient
