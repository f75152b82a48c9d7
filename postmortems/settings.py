"""Settings for Postmortem Studio.

Everything that differs between a laptop and production is read from the environment, with
defaults that let `manage.py runserver` work on a fresh machine (SQLite, console email).
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_duration

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_duration(name, default):
    value = env.str(name, default=default)
    duration = parse_duration(value)
    if duration is None or duration <= timedelta(0):
        raise ImproperlyConfigured(f"{name}={value!r} is not a positive duration (e.g. P1D).")
    return duration


# Local state that is not the database: the embedded Celery broker, beat's schedule file.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

INSECURE_DEV_SECRET_KEY = "django-insecure-local-development-key-do-not-use-in-production"

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == INSECURE_DEV_SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Absolute base URL used in emails ("open the action item"), since emails have no request.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
SITE_NAME = "Postmortem Studio"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "incidents",
    "postmortems",
    "actionitems",
    "insights",
    "integrations",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "postmortems.urls"
WSGI_APPLICATION = "postmortems.wsgi.application"
ASGI_APPLICATION = "postmortems.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": [
                "postmortems.templatetags.studio",
                "django.contrib.humanize.templatetags.humanize",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "incidents:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# Incident times are stored and shown in UTC, the one clock every responder shares.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
DATE_FORMAT = "Y-m-d"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
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

# Email: EMAIL_URL (smtp://user:pass@host:587, submission://..., consolemail://) or the
# individual EMAIL_* variables. Locally, emails are printed to the console.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Postmortem Studio <studio@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# Production hardening; each can be turned off from the environment (e.g. behind a proxy
# that terminates TLS and already redirects).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Lists that grow (incidents, action items) are paginated at this size.
PAGE_SIZE = env.int("PAGE_SIZE", default=25)

# Celery: Redis when REDIS_URL is set (production, docker-compose, CI); otherwise a broker in a
# SQLite file, so that a fresh machine runs web, worker and beat with nothing but Python.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=REDIS_URL or f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
)
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND",
    default=REDIS_URL or f"db+sqlite:///{VAR_DIR / 'celery-results.sqlite3'}",
)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TRACK_STARTED = True
# A task is acknowledged when it finished, and redelivered if its worker died running it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = timedelta(days=1)

# The follow-up engine. Durations are ISO 8601 (P1D, PT12H) or "D HH:MM:SS".
REMINDER_INTERVAL = env_duration("REMINDER_INTERVAL", "P1D")  # overdue reminders repeat
ESCALATE_AFTER = env_duration("ESCALATE_AFTER", "P7D")  # overdue this long: managers too
DUE_SOON_WITHIN = env_duration("DUE_SOON_WITHIN", "P2D")  # heads-up before the due date
DRAFT_NUDGE_AFTER = env_duration("DRAFT_NUDGE_AFTER", "PT48H")  # draft after resolution
SWEEP_INTERVAL = env_duration("SWEEP_INTERVAL", "PT15M")  # how often beat runs the sweeps
# A reminder recorded but not sent this long after (a worker died, SMTP kept failing) is
# queued again by the next sweep.
RESEND_AFTER = env_duration("RESEND_AFTER", "PT15M")
SWEEP_ON_WORKER_START = env.bool("SWEEP_ON_WORKER_START", default=True)
DIGEST_DAY_OF_WEEK = env.str("DIGEST_DAY_OF_WEEK", default="mon")
DIGEST_HOUR = env.int("DIGEST_HOUR", default=8)

# Learning across incidents (the insights app). A postmortem should be approved this long
# after its incident was resolved (a team can set its own); the incident list counts the
# later ones as overdue and insights the share approved in time.
POSTMORTEM_APPROVAL_TARGET = env_duration("POSTMORTEM_APPROVAL_TARGET", "P14D")
# The search index follows every save; this sweep re-reads what changed lately in case
# something was written around the models (bulk inserts, SQL), and indexes what never was.
SEARCH_REINDEX_INTERVAL = env_duration("SEARCH_REINDEX_INTERVAL", "PT1H")

CELERY_BEAT_SCHEDULE = {
    "follow-up-sweeps": {
        "task": "actionitems.tasks.run_sweeps",
        "schedule": SWEEP_INTERVAL.total_seconds(),
    },
    "weekly-digest": {
        "task": "actionitems.tasks.sweep_weekly_digests",
        "schedule": crontab(minute=0, hour=DIGEST_HOUR, day_of_week=DIGEST_DAY_OF_WEEK),
    },
    "search-reindex": {
        "task": "insights.tasks.reindex_recent_changes",
        "schedule": SEARCH_REINDEX_INTERVAL.total_seconds(),
    },
}

# Collaborative editing: a browser that has not polled for this long is no longer "here".
PRESENCE_TTL_SECONDS = env.int("PRESENCE_TTL_SECONDS", default=30)
# How often an open page polls for presence and for sections changed by others.
PRESENCE_POLL_SECONDS = env.int("PRESENCE_POLL_SECONDS", default=3)
