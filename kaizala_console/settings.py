"""Settings for Kaizala Console, read from the environment (django-environ, optional `.env`).

Local use needs no configuration: SQLite under `var/`, a generated SECRET_KEY and encryption key
kept under `var/`, and the Kaizala sandbox on 127.0.0.1:8700. With DEBUG off every secret must
come from the environment, and a missing one stops start-up with a clear message.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from kaizala_console.local_secrets import (
    generate_fernet_key,
    generate_secret_key,
    local_secret,
    private_directory,
    private_file,
)

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# A relative VAR_DIR is taken from the project root, as dev.py takes it. It holds the SQLite database
# (password hashes, sessions) and the generated secrets: owner-only.
VAR_DIR = private_directory(BASE_DIR / env.str("VAR_DIR", default="var"))

DEBUG = env.bool("DEBUG", default=True)


def _secret(name, generator):
    value = env.str(name, default="")
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(
            f"{name} is not set. With DEBUG off it must come from the environment (see README, Configuration)."
        )
    return local_secret(VAR_DIR / name.lower(), generator)


SECRET_KEY = _secret("SECRET_KEY", generate_secret_key)
# A comma-separated list: the first key encrypts, all of them decrypt (rotation).
FIELD_ENCRYPTION_KEYS = [k.strip() for k in _secret("FIELD_ENCRYPTION_KEYS", generate_fernet_key).split(",")]

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "django_filters",
    "kaizala_console",
    "accounts",
    "connectors",
    "groups",
    "messaging",
    "events",
    "audit",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "actions",
]

MIDDLEWARE = [
    # First, so no answer to HEAD carries a body, whichever layer made it.
    "kaizala_console.middleware.head_without_body",
    # Every answer is counted and timed (kaizala_console/metrics.py).
    "kaizala_console.middleware.request_metrics",
    # The request's id for its log lines, its answer (X-Request-ID) and the tasks it enqueues.
    "kaizala_console.logs.request_ids",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Every page below is personal: Cache-Control no-store (static files above keep their caching).
    "kaizala_console.middleware.no_store",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, the first reader of a form body: 400 for one that cannot be read.
    "kaizala_console.middleware.unreadable_form_refused",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs login unless its view says otherwise (login, static files).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # request.user.is_verified(): a code of the two-step login was accepted in this session (django-otp);
    # then an unverified session is kept to the code page or to enrolment (accounts/two_step.py).
    "django_otp.middleware.OTPMiddleware",
    "accounts.two_step.TwoStepMiddleware",
    "accounts.timezones.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The idle and absolute session timeouts (SESSION_IDLE_TIMEOUT, SESSION_COOKIE_AGE); after the messages,
    # to say why on the login page. The login requirement above acts after it (in process_view).
    "accounts.sessions.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every response (django-csp; the policy is under "Security" below).
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns lockouts raised by its backend into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kaizala_console.urls"

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
                "accounts.context_processors.roles",
                "kaizala_console.context_processors.health_banner",
            ],
        },
    },
]

WSGI_APPLICATION = "kaizala_console.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # Web, worker and beat share one file: wait for locks instead of failing, let readers
            # run beside a writer (WAL), and take the write lock at BEGIN so two writers never
            # deadlock upgrading a read lock.
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )
    # Worker processes in integration tests must see the test database, so it is a file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    # Created owner-only before SQLite opens it (SQLite gives its -wal and -shm files the same mode).
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        private_file(Path(DATABASES["default"]["NAME"]))
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
_POSTGRESQL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if _POSTGRESQL and env.bool("DB_PREPARED_STATEMENTS", default=True):
    # Parameters bound by the server, so that a statement run five times on a connection is prepared there
    # (parsed and planned once): PostgreSQL's CPU per message sent (bench/README.md). The backend keeps Django's
    # batches within the 65,535 parameters a statement can then carry.
    DATABASES["default"]["ENGINE"] = "kaizala_console.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out login is refused before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Invitation and forced-reset links set a password once (the link dies when the password changes) and
# expire after this many hours (Django's password-reset tokens, whose lifetime is PASSWORD_RESET_TIMEOUT).
PASSWORD_LINK_HOURS = env.int("PASSWORD_LINK_HOURS", default=72)
PASSWORD_RESET_TIMEOUT = PASSWORD_LINK_HOURS * 3600
# Links go by mail only when EMAIL_BACKEND is given (with EMAIL_HOST etc.); without it they are written to
# the log and shown to the Admin who made them, to hand over another way.
MAIL_CONFIGURED = bool(env.str("EMAIL_BACKEND", default=""))
if MAIL_CONFIGURED:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND")
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")

# Two-step login (accounts/two_step.py): required for Admins, and for every role with this on.
TWO_STEP_REQUIRED_FOR_ALL = env.bool("TWO_STEP_REQUIRED_FOR_ALL", default=False)
OTP_TOTP_ISSUER = "Kaizala Console"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Failed-login throttling (django-axes): lock a username from one address after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Masked in the attempts axes stores (it keeps the POST): the password page's fields are counted too.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "old_password", "new_password1", "new_password2", "code"]
# Behind a reverse proxy set AXES_IPWARE_META_PRECEDENCE_ORDER; locally REMOTE_ADDR is the client.

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
# whitenoise warns at every start when it is missing; under VAR_DIR it is owner-only like the rest.
STATIC_ROOT.mkdir(mode=0o700 if STATIC_ROOT.is_relative_to(VAR_DIR) else 0o777, parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files admins upload to post (messaging.MediaFile). Never served by a public URL: the console's media view
# (login required) streams them. Under VAR_DIR (git-ignored, owner-only) unless MEDIA_ROOT says otherwise.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# The largest file an admin may post (bytes); Kaizala's own limit is not documented.
MEDIA_MAX_BYTES = env.int("MEDIA_MAX_BYTES", default=20 * 1024 * 1024)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Security (production: DEBUG off) -------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# The absolute limit from login, and the idle one (accounts/sessions.py enforces both).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy (django-csp 4): scripts and styles from our own origin only, no inline script
# or style (the templates have none; htmx's indicator <style> is switched off in base.html), no
# framing, forms post only to us. Bootstrap's CSS draws some icons from data: URIs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_COOKIE_HTTPONLY = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# --- Redis and Celery -----------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacknowledged task after the visibility timeout; keep it well above the
# longest task so a slow task is never run twice by the broker (the database guards anyway).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * CELERY_TASK_TIME_LIMIT + 600}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# Periodic tasks: the schedule lives here, in one place; every entry only enqueues work.
CELERY_BEAT_SCHEDULE = {
    "refresh-expiring-tokens": {"task": "connectors.tasks.refresh_expiring_tokens", "schedule": 300.0},
    "trim-api-calls": {"task": "connectors.tasks.trim_api_calls", "schedule": 3600.0},
    "trim-audit-records": {"task": "audit.tasks.trim_audit_records", "schedule": 3600.0},
    "trim-form-submissions": {"task": "kaizala_console.tasks.trim_form_submissions", "schedule": 3600.0},
    "trim-media": {"task": "messaging.tasks.trim_media", "schedule": 3600.0},
    "sync-groups": {"task": "groups.tasks.sync_all_groups", "schedule": 1800.0},
    "sweep": {"task": "messaging.tasks.sweep", "schedule": 15.0, "options": {"expires": 30}},
    "sweep-deliveries": {"task": "api.tasks.sweep_deliveries", "schedule": 2.0, "options": {"expires": 5}},
    "trim-idempotency-records": {"task": "api.tasks.trim_idempotency_records", "schedule": 3600.0},
    "sweep-groups": {"task": "groups.tasks.sweep", "schedule": 60.0, "options": {"expires": 120}},
    "sweep-phone-users": {"task": "connectors.tasks.sweep", "schedule": 60.0, "options": {"expires": 120}},
    "sweep-events": {"task": "events.tasks.sweep", "schedule": 30.0, "options": {"expires": 60}},
    "check-subscriptions": {"task": "events.tasks.check_subscriptions", "schedule": 300.0, "options": {"expires": 600}},
    # Daily action reminders due now; then refreshes and reminders whose task was lost.
    "fire-reminders": {"task": "actions.tasks.fire_reminders", "schedule": 30.0, "options": {"expires": 60}},
    "sweep-actions": {"task": "actions.tasks.sweep", "schedule": 30.0, "options": {"expires": 60}},
}
# --- Health (kaizala_console/health.py): /healthz, /readyz, the banner for Admins ------------------------
# The beat records a tick at most every 5 s and pings the workers every 15 s (a worker that answers is
# recorded); either older than this is a problem.
# The dashboard's counts over every message are recounted at most this often per web process (the page says
# when they were counted); 0 counts them on every view.
DASHBOARD_TOTALS_SECONDS = env.int("DASHBOARD_TOTALS_SECONDS", default=5)
HEALTH_BEAT_STALE_SECONDS = env.int("HEALTH_BEAT_STALE_SECONDS", default=30)
HEALTH_WORKER_STALE_SECONDS = env.int("HEALTH_WORKER_STALE_SECONDS", default=60)
HEALTH_WORKER_PING_TIMEOUT = env.float("HEALTH_WORKER_PING_TIMEOUT", default=2.0)

# --- Metrics (kaizala_console/metrics.py): /metrics for Prometheus -----------------------------------
# prometheus-client's multiprocess mode: every web and worker process writes its counters here, and the
# scrape sums them. It reads the variable when it is first imported, which is after the settings.
PROMETHEUS_MULTIPROC_DIR = private_directory(
    Path(env.str("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "prometheus"))))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_MULTIPROC_DIR)
# Who may scrape: a request with "Authorization: Bearer <METRICS_TOKEN>", or from an address listed here.
# Neither set: /metrics answers 403 to everyone.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])

# --- Kaizala ----------------------------------------------------------------------------------------
KAIZALA_AUTH_URL = env.str("KAIZALA_AUTH_URL", default="http://127.0.0.1:8700")
# The sandbox's control API: sandbox mode is on only when this is given (`dev.py start` gives it when it
# runs the sandbox), never guessed from the auth URL: a local Kaizala need not be the sandbox.
KAIZALA_SANDBOX_URL = env.str("KAIZALA_SANDBOX_URL", default="")
# Where a connector may send its secret: empty means KAIZALA_AUTH_URL, and the sandbox in sandbox mode.
KAIZALA_AUTH_URLS = env.list("KAIZALA_AUTH_URLS", default=[])
# Hosts a phone user's endpointUrl (or a 308 Location) may name; empty means the hosts of the auth URLs
# above plus Kaizala's own (connectors/allowed_urls.py). "*.example.org" allows its subdomains.
KAIZALA_ENDPOINT_HOSTS = env.list("KAIZALA_ENDPOINT_HOSTS", default=[])
DEFAULT_PHONE_REGION = env.str("DEFAULT_PHONE_REGION", default="IN")
KAIZALA_CONNECT_TIMEOUT = env.float("KAIZALA_CONNECT_TIMEOUT", default=5.0)
KAIZALA_READ_TIMEOUT = env.float("KAIZALA_READ_TIMEOUT", default=30.0)
# The shared token bucket in Redis: Kaizala allows 100 calls/min per connector and 300/min per tenant.
KAIZALA_RATE_LIMIT_ENABLED = env.bool("KAIZALA_RATE_LIMIT_ENABLED", default=True)
# The limits' period in seconds (60: "per minute"); shorter only to match a sandbox run with a short window.
KAIZALA_RATE_LIMIT_PERIOD = env.float("KAIZALA_RATE_LIMIT_PERIOD", default=60.0)
KAIZALA_RATE_LIMITS = {
    "connector": (env.int("KAIZALA_CONNECTOR_CALLS_PER_MINUTE", default=100), KAIZALA_RATE_LIMIT_PERIOD),
    "tenant": (env.int("KAIZALA_TENANT_CALLS_PER_MINUTE", default=300), KAIZALA_RATE_LIMIT_PERIOD),
}
# Calls a full bucket lets through back to back; the rest are spaced at (calls - margin - burst) / period.
KAIZALA_RATE_LIMIT_BURST = env.int("KAIZALA_RATE_LIMIT_BURST", default=2)
# The fraction of each limit left unused, so calls delayed on the way never tip Kaizala's window over.
KAIZALA_RATE_LIMIT_MARGIN = env.float("KAIZALA_RATE_LIMIT_MARGIN", default=0.02)
if not 0 <= KAIZALA_RATE_LIMIT_MARGIN < 1:
    raise ImproperlyConfigured("KAIZALA_RATE_LIMIT_MARGIN is a fraction: 0 <= margin < 1 (e.g. 0.02)")
KAIZALA_TENANT_KEY = env.str("KAIZALA_TENANT_KEY", default="default")
KAIZALA_RATE_LIMIT_MAX_WAIT = env.float("KAIZALA_RATE_LIMIT_MAX_WAIT", default=10.0)
# Access tokens expiring within this many seconds are refreshed by the periodic task.
TOKEN_REFRESH_MARGIN = env.int("TOKEN_REFRESH_MARGIN", default=3600)
# A refresh token this close to its end shows a warning: the phone must be onboarded again in time.
REFRESH_TOKEN_WARNING_DAYS = env.int("REFRESH_TOKEN_WARNING_DAYS", default=30)
PIN_RESEND_COOLDOWN = env.int("PIN_RESEND_COOLDOWN", default=60)
API_CALL_RETENTION_DAYS = env.int("API_CALL_RETENTION_DAYS", default=30)
# Audit records older than this are deleted (hourly).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
# How long a rendered create form may be submitted; its one-time token is remembered as long (submit_once.py).
FORM_TOKEN_HOURS = env.int("FORM_TOKEN_HOURS", default=24)

# --- Sending ----------------------------------------------------------------------------------------
DISPATCH_BATCH = env.int("DISPATCH_BATCH", default=500)
# The dispatcher (`manage.py dispatcher`, messaging/dispatcher.py) sleeps until the next due row or a wake,
# and re-reads the database at least this often, so a lost wake costs at most this much lateness.
DISPATCHER_RECHECK_SECONDS = env.float("DISPATCHER_RECHECK_SECONDS", default=2.0)
# Exactly one dispatcher is active: it holds a Redis lease of this length, renewed at least every third of it;
# a standby tries to take it every DISPATCHER_STANDBY_POLL s, so it takes over about a lease after a crash.
DISPATCHER_LEASE_SECONDS = env.float("DISPATCHER_LEASE_SECONDS", default=3.0)
DISPATCHER_STANDBY_POLL = env.float("DISPATCHER_STANDBY_POLL", default=0.5)
# A wake that follows another within this time (many "send now") starts its pass this much later, so that
# the stream makes one claim of many messages, sent in chunks, not one claim and one task each.
DISPATCHER_GATHER_SECONDS = env.float("DISPATCHER_GATHER_SECONDS", default=0.05)
# A pass claims another batch while the last one came back full, up to this many batches.
DISPATCH_MAX_ROUNDS = env.int("DISPATCH_MAX_ROUNDS", default=20)
# Messages per send task: one task sends them one after another (1 = one task per message).
SEND_TASK_CHUNK = env.int("SEND_TASK_CHUNK", default=10)
SEND_MAX_ATTEMPTS = env.int("SEND_MAX_ATTEMPTS", default=6)
RETRY_BACKOFF_BASE = env.float("RETRY_BACKOFF_BASE", default=2.0)
RETRY_BACKOFF_MAX = env.float("RETRY_BACKOFF_MAX", default=300.0)
# A message queued this long has lost its task (a flushed broker, say): enqueue it again.
QUEUED_TIMEOUT = env.int("QUEUED_TIMEOUT", default=120)
# A message sending this long lost its worker mid-call: it may have arrived, so it becomes unconfirmed.
SENDING_TIMEOUT = env.int("SENDING_TIMEOUT", default=180)
# Group work in flight this long lost its worker or its task (groups.services.groups_sweep gives up on it):
# a group `creating`, a refresh from Kaizala, a member or subscriber change, a running sync. Each is well
# past its task's retries (2 + 5 + 15 s, and 30 s read timeouts per call).
GROUP_CREATE_TIMEOUT = env.int("GROUP_CREATE_TIMEOUT", default=900)
GROUP_REFRESH_TIMEOUT = env.int("GROUP_REFRESH_TIMEOUT", default=600)
GROUP_MEMBER_CHANGE_TIMEOUT = env.int("GROUP_MEMBER_CHANGE_TIMEOUT", default=600)
GROUP_SYNC_TIMEOUT = env.int("GROUP_SYNC_TIMEOUT", default=900)
# Finished syncs older than this are deleted (the newest of each phone user is kept).
GROUP_SYNC_RETENTION_DAYS = env.int("GROUP_SYNC_RETENTION_DAYS", default=30)
# How long a worker keeps retrying to record a send's outcome while the database is unreachable.
FINISH_RETRY_SECONDS = env.float("FINISH_RETRY_SECONDS", default=30.0)

# --- REST API (api/) ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # The key only: a session cookie authenticates nothing here, so no CSRF token is needed or accepted.
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.auth.HasConsoleRole"],
    "DEFAULT_THROTTLE_CLASSES": ["api.auth.PerKeyThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kaizala Console API",
    "DESCRIPTION": "Send and schedule through the console. Errors: {\"error\": {\"code\", \"message\", \"fields\"}}.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "MessageStatus": "messaging.models.Message.Status", "ScheduleState": "messaging.models.Schedule.State",
        "GroupState": "groups.models.GroupState", "MemberState": "groups.models.MemberState",
        "PhoneUserState": "connectors.models.PhoneUserState", "ConnectorStatus": "connectors.models.ConnectorStatus",
        "MessageKind": "messaging.models.MessageKind",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.errors.add_error_responses"],
}
# Requests per minute per API key (429 with Retry-After beyond it).
API_KEY_REQUESTS_PER_MINUTE = env.int("API_KEY_REQUESTS_PER_MINUTE", default=600)
# How long an Idempotency-Key is remembered: within it a repeated POST gets the first answer.
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)
# Callbacks (api/callbacks.py). Private, loopback and link-local callback URLs are refused unless this is
# on (on with DEBUG: the quick start's receiver is on 127.0.0.1).
API_CALLBACK_ALLOW_PRIVATE = env.bool("API_CALLBACK_ALLOW_PRIVATE", default=DEBUG)
API_CALLBACK_TIMEOUT = env.float("API_CALLBACK_TIMEOUT", default=10.0)
# Attempts per delivery, with back-off BASE·2^(n-1) seconds capped at MAX; then the delivery has failed.
API_CALLBACK_MAX_ATTEMPTS = env.int("API_CALLBACK_MAX_ATTEMPTS", default=8)
API_CALLBACK_BACKOFF_BASE = env.float("API_CALLBACK_BACKOFF_BASE", default=10.0)
API_CALLBACK_BACKOFF_MAX = env.float("API_CALLBACK_BACKOFF_MAX", default=3600.0)
# After this many failed deliveries in a row a key's callback is switched off (registering it again re-enables).
API_CALLBACK_DISABLE_AFTER = env.int("API_CALLBACK_DISABLE_AFTER", default=5)
# A delivery `sending` this long lost its worker: the sweeper makes it pending again.
API_CALLBACK_SENDING_TIMEOUT = env.int("API_CALLBACK_SENDING_TIMEOUT", default=120)

# --- Logging ----------------------------------------------------------------------------------------
# LOG_FORMAT: "plain" (readable, the default) or "json" (one object per line, with request_id and task_id).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT is 'plain' or 'json', not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "json": {"()": "kaizala_console.logs.JsonFormatter"}},
    "filters": {"refusal_without_traceback": {"()": "kaizala_console.log_filters.RefusalWithoutTraceback"},
                "context_ids": {"()": "kaizala_console.logs.ContextIds"},
                "quiet_ticks": {"()": "kaizala_console.logs.QuietTicks"}},
    # On the handler too, for the 400s of django.security.* (a filter on a logger skips its children).
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                             "filters": ["refusal_without_traceback", "context_ids", "quiet_ticks"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # Django's default logging gives "django" a console handler of its own, so with DEBUG every line
        # was printed twice (there and by the root's): its records go to the root's handler only.
        "django": {"handlers": [], "level": "INFO"},
        "django.request": {"filters": ["refusal_without_traceback"]},
    },
}

# --- Receiving (Kaizala's webhooks) -------------------------------------------------------------------
# The console's address as Kaizala reaches it: callback URLs are built on it (Kaizala requires https).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")
# The largest event body the receiver accepts (a bigger one is answered 400).
EVENT_MAX_BYTES = env.int("EVENT_MAX_BYTES", default=1024 * 1024)
# An event stored this long without being processed (and without an error) lost its task: enqueued again.
EVENT_PROCESS_TIMEOUT = env.int("EVENT_PROCESS_TIMEOUT", default=60)
EVENT_SWEEP_BATCH = env.int("EVENT_SWEEP_BATCH", default=1000)
# Stored events are processed by a drain task, this many per transaction (events/services.py).
EVENT_PROCESS_BATCH = env.int("EVENT_PROCESS_BATCH", default=100)
# A drain that still finds work after this long hands over to a new task (well under the task time limit).
EVENT_DRAIN_SECONDS = env.float("EVENT_DRAIN_SECONDS", default=60.0)
# How long "a drain is queued" holds (a lost task is not waited for longer; the next event queues another).
EVENT_DRAIN_FLAG_SECONDS = env.int("EVENT_DRAIN_FLAG_SECONDS", default=10)
# Listen to every active group without being asked (the periodic check subscribes the ones not listened to).
EVENTS_LISTEN_TO_ALL_GROUPS = env.bool("EVENTS_LISTEN_TO_ALL_GROUPS", default=False)
# A webhook Kaizala disabled is re-enabled by the periodic check when the console refused none of its
# deliveries (so the failures were the console down or answering 503); otherwise by the button only.
EVENTS_REENABLE_AUTOMATICALLY = env.bool("EVENTS_REENABLE_AUTOMATICALLY", default=True)
