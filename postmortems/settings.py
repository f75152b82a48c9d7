"""Settings for Postmortem Studio.

Everything that differs between a laptop and production is read from the environment, with
defaults that let `manage.py runserver` work on a fresh machine (SQLite, console email).
"""

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import django_stubs_ext
import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_duration

# Generic Django classes (ModelForm[Incident], ModelAdmin[...]) at runtime, as the annotations
# that mypy checks write them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_hours(name: str, default: str) -> tuple[int, int]:
    """A span of hours of the day, "8-18": from 08:00 until 18:00."""
    value = env.str(name, default=default)
    start, _, end = value.partition("-")
    if not (start.isdigit() and end.isdigit() and 0 <= int(start) < int(end) <= 24):
        raise ImproperlyConfigured(f"{name}={value!r} is not a span of hours such as 8-18.")
    return int(start), int(end)


def env_duration(name: str, default: str) -> timedelta:
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
    "axes",
    "incidents",
    "postmortems",
    "actionitems",
    "insights",
    "integrations",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Compresses HTML (a long document shrinks about tenfold). BREACH needs a secret in a
    # compressed body next to text an attacker controls: the CSRF token is masked anew in every
    # response, and Django pads every gzipped response with random bytes ("Heal the Breach").
    # Static files are compressed ahead of time by WhiteNoise, which comes after.
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into throttle.locked_out's page.
    "axes.middleware.AxesMiddleware",
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
# Reuse a worker's database connection between requests (a new PostgreSQL connection costs
# more than most pages' queries); checked before reuse, so a restarted server is no error.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
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

# Login throttling (django-axes; docs/design/security.md). After AXES_FAILURE_LIMIT failed
# logins for one username from one address, that pair waits AXES_COOLOFF_TIME; a successful
# login clears the count. Another address (the real owner at their desk) is not locked out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair before a check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env_duration("AXES_COOLOFF_TIME", "PT15M")
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A try during the lock starts the cool-off again: whoever keeps guessing stays locked out.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_LOCKOUT_CALLABLE = "postmortems.throttle.locked_out"
AXES_CLIENT_IP_CALLABLE = "postmortems.throttle.client_ip"
AXES_USERNAME_CALLABLE = "postmortems.throttle.attempted_username"
AXES_SENSITIVE_PARAMETERS = ["password"]
# How many proxies of ours stand in front of the app and append to X-Forwarded-For (nginx in
# docker-compose: 1). 0: the client is REMOTE_ADDR and X-Forwarded-For is ignored, since
# anyone can send that header.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
LOGIN_REDIRECT_URL = "my_work"  # what is waiting for me, not every incident
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
# Uploaded files (attachments): on this machine's disk under MEDIA_ROOT, or in an
# S3-compatible bucket when AWS_STORAGE_BUCKET_NAME is set (pip install '.[s3]'). Either way
# they are served by a view that checks the reader may read the postmortem, never by URL.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("AWS_LOCATION", default=""),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Email: EMAIL_URL (smtp://user:pass@host:587, submission://..., consolemail://,
# filemail:///absolute/folder) or the individual EMAIL_* variables. Locally, emails are
# printed to the console, as a readable summary while DEBUG is on.
EMAIL_URL = env.str("EMAIL_URL", default="consolemail://")
_email = env.email_url_config(EMAIL_URL)
vars().update(_email)
if _email["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend":
    # django-environ reads filemail:///tmp/mail as "tmp/mail", relative to wherever the process
    # started. What follows "filemail://" is the folder: absolute with a leading slash
    # (filemail:///tmp/mail), else relative to the project (filemail://var/mail).
    EMAIL_FILE_PATH = str(BASE_DIR / unquote(EMAIL_URL.split("://", 1)[1].split("?", 1)[0]))
elif DEBUG and _email["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":
    EMAIL_BACKEND = "actionitems.mail.ReadableConsoleBackend"
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

# Content-Security-Policy (django-csp; docs/design/security.md). Scripts and styles come only
# from our own static files: no inline script, no inline event handler, no eval (htmx runs
# with allowEval false, its indicator styles live in studio.css). Text people write is
# sanitized already; this is the second wall if a sanitizer ever misses something. Charts are
# inline SVG coloured by classes; images may be data: URLs (an SVG icon, a pasted screenshot).
# SSO's "Log in with ..." is a link, not a form, so form-action 'self' never blocks the
# provider's redirect.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's defaults give "django" a console handler of its own (while DEBUG) and let
        # it propagate to the root's: every request warning was printed twice. One handler,
        # the root's, prints everything. ("django.server" keeps its own format, unpropagated.)
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# Lists that grow (incidents, action items) are paginated at this size.
PAGE_SIZE = env.int("PAGE_SIZE", default=25)

# Caches and sessions. With REDIS_URL every web process shares one cache (rendered rows,
# blameless-language findings) and sessions are read from it (written through to the
# database). Without it each process has its own memory cache: everything cached is keyed by
# versions, so a process-local cache is as correct, only colder; sessions then stay in the
# database, never in one process's memory.
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_URL = env.str("CACHE_URL", default=REDIS_URL)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "postmortems.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "studio",
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
# How long a rendered row stays cached (0: not cached).
ROW_CACHE_SECONDS = env.int("ROW_CACHE_SECONDS", default=24 * 3600)
# Rows of a list shown at first; the rest load in chunks of this size as they scroll into view.
ROWS_CHUNK = env.int("ROWS_CHUNK", default=50)

# Celery: Redis when REDIS_URL is set (production, docker-compose, CI); otherwise a broker in a
# SQLite file, so that a fresh machine runs web, worker and beat with nothing but Python.
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
# REMINDER_INTERVAL (in whole days), ESCALATE_AFTER, DUE_SOON_WITHIN and these two are the
# defaults of teams that did not choose their own (TeamFollowUpSettings, set by a manager);
# the digest's day and hour are on each manager's own clock.
DIGEST_DAY_OF_WEEK = env.str("DIGEST_DAY_OF_WEEK", default="mon")
DIGEST_HOUR = env.int("DIGEST_HOUR", default=8)
# Reminders reach people between these hours of their own time zone, never at 03:00. Locally
# (DEBUG) at any hour, so that the demo's worker prints its reminders whenever it starts.
REMINDER_HOURS = env_hours("REMINDER_HOURS", "0-24" if DEBUG else "8-18")
# One-click links in reminders (mark done, snooze, move, not mine) work this long.
EMAIL_LINK_MAX_AGE = env_duration("EMAIL_LINK_MAX_AGE", "P14D")

# Share links to a published postmortem for people outside the team: how many days a new link
# works unless its creator picks another lifetime (1, 7, 30 or 90 days).
SHARE_LINK_DAYS = env.int("SHARE_LINK_DAYS", default=30)

# Learning across incidents (the insights app). A postmortem should be approved this long
# after its incident was resolved (a team can set its own); the incident list counts the
# later ones as overdue and insights the share approved in time.
POSTMORTEM_APPROVAL_TARGET = env_duration("POSTMORTEM_APPROVAL_TARGET", "P14D")
# The search index follows every save; this sweep re-reads what changed lately in case
# something was written around the models (bulk inserts, SQL), and indexes what never was.
SEARCH_REINDEX_INTERVAL = env_duration("SEARCH_REINDEX_INTERVAL", "PT1H")

CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "postmortems.tasks.heartbeat", "schedule": 60.0},
    "follow-up-sweeps": {
        "task": "actionitems.tasks.run_sweeps",
        "schedule": SWEEP_INTERVAL.total_seconds(),
    },
    # Each team picks its digest's day and hour and each manager has a time zone: the digest
    # sweep runs as often as the others and sends each one once per week when it is due.
    "weekly-digest": {
        "task": "actionitems.tasks.sweep_weekly_digests",
        "schedule": SWEEP_INTERVAL.total_seconds(),
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

# --- API and integrations (api/, integrations/; docs/design/integrations.md) ------------------

INSTALLED_APPS += ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"]

REST_FRAMEWORK = {
    # Bearer first: an unauthenticated request gets 401 with "WWW-Authenticate: Bearer".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": PAGE_SIZE,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Postmortem Studio API",
    "DESCRIPTION": "Incidents, timelines, postmortem sections, action items and comments. "
    "Authenticate with a personal token: `Authorization: Bearer pms_…`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.Incident.Status",
        "TimelineKindEnum": "incidents.models.TimelineEvent.Kind",
        "PostmortemStatusEnum": "postmortems.models.Postmortem.Status",
        "ActionItemStatusEnum": "actionitems.models.ActionItem.Status",
        "SectionKindEnum": [("fields", "fields"), ("rows", "rows")],
    },
}

# Outbound webhooks and Slack posts: how long to wait for an answer, how often to try.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=30)
WEBHOOK_RETRY_MAX_SECONDS = env.int("WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600)
# Team managers type these URLs: in production they may not point into our own network
# (loopback, private ranges, cloud metadata). Tests and laptops talk to local servers.
INTEGRATIONS_ALLOW_PRIVATE_URLS = env.bool("INTEGRATIONS_ALLOW_PRIVATE_URLS", default=DEBUG)
INTEGRATIONS_SWEEP_INTERVAL = env_duration("INTEGRATIONS_SWEEP_INTERVAL", "PT1M")
# Sent webhooks and Slack posts are kept this long for the deliveries page, then removed.
INTEGRATIONS_RETENTION = env_duration("INTEGRATIONS_RETENTION", "P30D")
INTEGRATIONS_SWEEP_ON_WORKER_START = env.bool("INTEGRATIONS_SWEEP_ON_WORKER_START", default=True)
TRACKER_SYNC_INTERVAL = env_duration("TRACKER_SYNC_INTERVAL", "PT10M")
# httpx logs every request at INFO; the deliveries page and the tables keep what matters.
LOGGING["loggers"]["httpx"] = {"level": "WARNING"}
CELERY_BEAT_SCHEDULE |= {
    "integrations-sweep": {
        "task": "integrations.tasks.sweep",
        "schedule": INTEGRATIONS_SWEEP_INTERVAL.total_seconds(),
    },
    "tracker-sync": {
        "task": "integrations.tasks.sync_trackers",
        "schedule": TRACKER_SYNC_INTERVAL.total_seconds(),
    },
}

# Single sign-on with OpenID Connect, only when the provider is configured; username and
# password stay the default either way.
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="single sign-on")
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "integrations.sso.EmailOIDCBackend"]
    OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET")
    OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT")
    OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="") or None
    OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
    OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
    # Only people who already have an account (matched by email) get in, unless allowed.
    OIDC_CREATE_USER = env.bool("OIDC_CREATE_USER", default=False)
    OIDC_AUTHENTICATION_CALLBACK_URL = "integrations:oidc_callback"
    LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"  # a path: mozilla-django-oidc uses it as is

# Readiness (/readyz): the broker must answer within this many seconds, and a worker must have
# run its heartbeat (every minute) within READY_HEARTBEAT_MAX_AGE.
READY_BROKER_TIMEOUT = env.float("READY_BROKER_TIMEOUT", default=2.0)
READY_HEARTBEAT_MAX_AGE = env_duration("READY_HEARTBEAT_MAX_AGE", "PT3M")
