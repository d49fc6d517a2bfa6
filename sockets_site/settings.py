"""Settings for the Sockets site.

Everything that differs between a laptop and a server comes from an
environment variable (see README.md for the list). The defaults run the site
anywhere with nothing installed: SQLite, the in-memory channel layer, and a
random secret key kept per checkout. With DJANGO_DEBUG=0 the site refuses to
start without DJANGO_SECRET_KEY, and DJANGO_SECURE=1 turns on the HTTPS-only
protections that `manage.py check --deploy` asks for. The protections that hold
without HTTPS (Content-Security-Policy, Permissions-Policy, log-in throttling)
are always on.
"""

import secrets
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from playground.wire.limits import EngineConfig, Limits
from sockets_site.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", True)


def _secret_key() -> str:
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off. Generate one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(50))"'
        )
    # A key per checkout, so sessions survive restarts but no two clones share one.
    path = BASE_DIR / ".dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Its runserver is Daphne's without a Server header, so it comes before Daphne's.
    "sockets_site.devserver",
    "daphne",
    "nested_admin",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "csp",
    "lessons",
    "labs",
    "accounts",
    "playground",
    "review",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Inside the CSRF middleware, so its 503 page's fresh token gets its cookie.
    "sockets_site.outage.DatabaseOutageMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # Last, as django-axes asks: it turns a refused log-in into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sockets_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "sockets_site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sockets_site.context_processors.site",
            ],
        },
    },
]

ASGI_APPLICATION = "sockets_site.asgi.application"

# Connections kept between requests (DATABASE_CONN_MAX_AGE, seconds) are checked before a
# request reuses one, so a database restart costs a new connection, not an error page.
_conn_max_age = env_int("DATABASE_CONN_MAX_AGE", 0)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=_conn_max_age,
        conn_health_checks=_conn_max_age != 0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default holds a class (docs/benchmarks.md, "A class on the embedded
    # default"):
    # - WAL: readers never wait for the writer nor the writer for readers, and a commit
    #   appends to the log instead of rewriting pages; synchronous=NORMAL syncs the
    #   log at checkpoints, not at every commit (a power cut may lose the last
    #   commits, never corrupt the file).
    # - A transaction takes the write lock when it begins: a read-then-write one would
    #   otherwise fail at once with "database is locked" when another process wrote
    #   in between, whatever the timeout.
    # - `timeout` is SQLite's busy timeout: a writer waits its turn for up to 20 s,
    #   far longer than any write transaction of the site takes (milliseconds).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
else:
    # libpq waits for the server with no limit: a host dropping packets would hold
    # each request (and the outage probe, sockets_site.outage) for minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5)
    )
    if env_bool("DATABASE_POOL", False):
        # Under ASGI each request runs in a thread of its own, so connections kept per
        # thread (DATABASE_CONN_MAX_AGE) pile up instead of being reused: Django's docs
        # say to keep that at 0 and pool instead. psycopg's pool (the postgres extra)
        # does.
        DATABASES["default"]["OPTIONS"]["pool"] = True
# While the database is down, how often a request asks whether it is back (seconds).
DATABASE_PROBE_SECONDS = env_float("DATABASE_PROBE_SECONDS", 5.0)

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # Pub/sub: one PUBLISH a message, pushed to the process that subscribed, where the
    # list-based layer pays four round trips to Redis for each message received. What
    # it does not keep (messages sent while nobody listens, or while Redis restarts)
    # the playground does not need: only questions to a sandbox's owner travel on it
    # (playground.engines.pool.asking), and an unanswered one is answered "no sandbox".
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache keeps what every reader of a page shares (sockets_site/page_cache.py). Redis
# when REDIS_URL is set, so every server process sees an edit at once; otherwise
# local memory, which is per process. Sessions are read through the cache only when
# it is shared: a per-process copy would outlive a log-out done in another process.
# While Redis is away pages and sessions are read from the database (sockets_site.cache).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "sockets_site.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "sockets",
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# A learner's progress is read from one snapshot in the cache (sockets_site/learner_state.py)
# only where the cache is shared: a per-process copy would not see a lesson read in
# another process. A site of one process (`make run`) may turn it on without Redis.
PROGRESS_SNAPSHOTS = env_bool("DJANGO_PROGRESS_SNAPSHOTS", bool(REDIS_URL))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "sockets_site" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names need `collectstatic`, which `make run` does; with debug
        # on, files are served straight from the apps so edits show at once.
        # Without it, WhiteNoise's hashed files, the modules' imports rewritten.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "sockets_site.storage.ModuleImportsStorage",
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A session is written only when a view changes it (Django's default, kept on
# purpose): on SQLite every write takes the one write lock, and a class reading pages
# must not queue for it (docs/benchmarks.md, "A class on the embedded default").
SESSION_SAVE_EVERY_REQUEST = False

# Security that holds with or without HTTPS.
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# HTTPS-only protections: switched on together by DJANGO_SECURE=1.
SECURE = env_bool("DJANGO_SECURE", False)
SECURE_SSL_REDIRECT = SECURE
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_HSTS_SECONDS = 31_536_000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", False)
if BEHIND_PROXY:
    # Only behind a proxy that sets this header itself; otherwise clients could forge it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Pages may load scripts, styles, images and connections from this site only,
# so injected markup cannot run; 'self' covers the playground's WebSocket too.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
    }
}
# No page needs these browser features, so no injected or framed content can ask for them.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
    )
}

# Log-in throttling (django-axes, counted in the database so every server process
# sees the same failures). The check runs in the first backend, before any password
# is hashed. See sockets_site/login_throttle.py for the two limits.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "sockets_site.login_throttle.LoginThrottle"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = env_int("DJANGO_LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("DJANGO_LOGIN_ADDRESS_FAILURE_LIMIT", 20)
# Password reset mails asked for in an hour, per client network and per e-mail address
# (accounts.views.PasswordResetView): nobody can flood an inbox through the site.
PASSWORD_RESET_LIMIT = env_int("DJANGO_PASSWORD_RESET_LIMIT", 5)
LOGIN_COOLOFF_MINUTES = env_int("DJANGO_LOGIN_COOLOFF_MINUTES", 15)
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
# Refused attempts do not extend the lock, so the page can say when it ends.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "sockets_site.client_ip.throttled_network"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.locked_out"
if not 1 <= AXES_FAILURE_LIMIT <= LOGIN_ADDRESS_FAILURE_LIMIT:
    raise ImproperlyConfigured(
        "DJANGO_LOGIN_FAILURE_LIMIT must be at least 1 and at most "
        "DJANGO_LOGIN_ADDRESS_FAILURE_LIMIT, since one address may try several accounts; "
        f"got {AXES_FAILURE_LIMIT} and {LOGIN_ADDRESS_FAILURE_LIMIT}"
    )
if LOGIN_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("DJANGO_LOGIN_COOLOFF_MINUTES must be at least 1")

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "lessons:index"
LOGOUT_REDIRECT_URL = "lessons:index"

# E-mail: the site sends only password-reset links. By default they are printed on the
# console (tests get Django's in-memory outbox); a real site sets DJANGO_EMAIL_BACKEND to
# django.core.mail.backends.smtp.EmailBackend and the server below, or to the file
# backend with DJANGO_EMAIL_FILE_PATH (the end-to-end tests read the mail there).
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "Sockets <noreply@localhost>")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
# A mail server that does not answer must not hold a request for ever.
EMAIL_TIMEOUT = env_int("DJANGO_EMAIL_TIMEOUT", 10)
EMAIL_FILE_PATH = env_str("DJANGO_EMAIL_FILE_PATH", str(BASE_DIR / "sent-mail"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redis_outage": {"()": "sockets_site.outage_notice.RedisOutageFilter"},
        "database_outage": {"()": "sockets_site.outage.DatabaseOutageFilter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    # Its receiver logs a traceback a second while Redis is away: one line instead.
    # A database outage: one line (sockets_site.outage), not a traceback per request.
    "loggers": {
        "channels_redis.pubsub": {"filters": ["redis_outage"]},
        "django.request": {"filters": ["database_outage"]},
    },
}

# The socket playground. Every limit (playground.wire.limits.Limits) can be set from
# the environment as PLAYGROUND_<NAME> (e.g. PLAYGROUND_SOCKETS_PER_SANDBOX=8); a system
# check validates them at start-up. The engine settings' defaults are EngineConfig's.
PLAYGROUND_LIMITS = {
    limit.name: env_float(f"PLAYGROUND_{limit.name.upper()}", limit.default)
    for limit in fields(Limits)
}
PLAYGROUND_ADDRESS_RANGE = env_str("PLAYGROUND_ADDRESS_RANGE", EngineConfig.address_range)
PLAYGROUND_KERNEL_TICK = env_float("PLAYGROUND_KERNEL_TICK", EngineConfig.kernel_tick)
PLAYGROUND_KERNEL_STATES = env_bool("PLAYGROUND_KERNEL_STATES", EngineConfig.use_kernel)
PLAYGROUND_LOCK_FILE = env_str("PLAYGROUND_LOCK_FILE", EngineConfig.lock_file)
PLAYGROUND_NETWORK_NAMESPACE = env_bool(
    "PLAYGROUND_NETWORK_NAMESPACE", EngineConfig.network_namespace
)
# Where sandboxes live: "local" (in the server process, no services) or "pool" (in
# `manage.py playground_process` processes that nginx routes to; needs REDIS_URL).
PLAYGROUND_ENGINE = env_str("PLAYGROUND_ENGINE", "local")

# Where the course lives as files (content as code); `load_course` reads it.
COURSE_CONTENT_DIR = BASE_DIR / "lessons" / "content"
