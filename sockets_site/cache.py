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
from django.utils.functional import cached_property
from redis.exceptions import RedisError

from sockets_site.outage_notice import Outage

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


# (connection pool, client) by server and options, for the whole process.
_kept: dict[tuple, tuple] = {}


class KeptClient(RedisCacheClient):
    """Django's Redis client, sharing its pools and clients across the process.

    Django keeps one cache object per thread and per asynchronous context, so under
    ASGI every request gets a new one, and with it a new connection pool: a TCP
    connection and its HELLO to Redis for every request, which cost more than the
    page. Django also makes a new redis-py client for every operation. Pools and
    clients are safe to share between threads (a client takes a connection from the
    pool for each command).
    """

    @cached_property
    def _options_key(self) -> str:
        return repr(sorted(self._pool_options.items()))

    def _pool_and_client(self, write: bool) -> tuple:
        server = self._servers[self._get_connection_pool_index(write)]
        key = (server, self._options_key)
        if key not in _kept:
            pool = self._pool_class.from_url(server, **self._pool_options)
            _kept[key] = (pool, self._client(connection_pool=pool))
        return _kept[key]

    def _get_connection_pool(self, write):
        return self._pool_and_client(write)[0]

    def get_client(self, key=None, *, write=False):
        return self._pool_and_client(write)[1]


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
        self._server, self._params = server, params

    @cached_property
    def strict(self) -> RedisCache:
        """The same cache, raising as Django's does (made when first needed: a cache
        object is made for every request under ASGI, `strict` only for staff edits)."""
        strict = RedisCache(self._server, self._params)
        strict._class = KeptClient
        return strict
