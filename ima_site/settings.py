"""Settings for the IMA campaign site, read only from environment variables.

Every variable is documented in .env.example. Production differs from a laptop only
by the environment.
"""

import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from ima_site import env

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env.get_bool("DJANGO_DEBUG", False)

SECRET_KEY = env.get_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. It is required when DJANGO_DEBUG is off."
        )
    SECRET_KEY = "insecure-local-development-key-" + "x" * 32  # noqa: S105
elif len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 32 characters.")

ALLOWED_HOSTS = env.get_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS is not set: name the host(s) the site answers to."
    )
CSRF_TRUSTED_ORIGINS = env.get_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# The public address of the site, used where a URL leaves the request: feeds read
# by aggregators, e-mails, Open Graph tags shared on social media. On a laptop it
# follows PORT, the port `make run` serves on, so links in e-mails reach that server.
SITE_URL = env.get_str("SITE_URL")
if not SITE_URL and DEBUG:
    SITE_URL = f"http://127.0.0.1:{env.get_int('PORT', 8000, minimum=1)}"
SITE_URL = SITE_URL.rstrip("/")
if not SITE_URL:
    raise ImproperlyConfigured(
        "SITE_URL is not set: give the public address, such as https://ima.example.org."
    )
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL={SITE_URL!r} must start with http(s)://.")
SITE_NAME = env.get_str("SITE_NAME", "International Migrants Alliance")

# --- Signers' personal data --------------------------------------------------------

# Fernet keys, comma-separated: the first encrypts, all decrypt (rotation).
SIGNER_DATA_KEYS = env.get_list("SIGNER_DATA_KEYS", [])
# Key of the HMACs of canonical emails and network prefixes (at least 32 characters).
_hash_key = env.get_str("SIGNER_HASH_KEY")
if DEBUG and not SIGNER_DATA_KEYS:
    # A laptop only: keys derived from the development secret key.
    SIGNER_DATA_KEYS = [env.derived_fernet_key(SECRET_KEY)]
if DEBUG and not _hash_key:
    _hash_key = "hash-" + SECRET_KEY
if not SIGNER_DATA_KEYS:
    raise ImproperlyConfigured(
        "SIGNER_DATA_KEYS is not set: give one or more Fernet keys, comma-separated "
        "(python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())')."
    )
for _key in SIGNER_DATA_KEYS:
    if not env.is_fernet_key(_key):
        raise ImproperlyConfigured(
            "SIGNER_DATA_KEYS holds a value that is not a Fernet key "
            "(32 bytes in url-safe base64)."
        )
if len(_hash_key) < 32:
    raise ImproperlyConfigured(
        "SIGNER_HASH_KEY is not set or shorter than 32 characters."
    )
SIGNER_HASH_KEY = _hash_key.encode()
# Days after a statement closes before its signatories' names are removed (counts stay).
SIGNATURE_RETENTION_DAYS = env.get_int("SIGNATURE_RETENTION_DAYS", 180, minimum=1)
# A statement with no closing time keeps its signatories' names this many days after
# its publication, no longer: without it they would be kept forever.
SIGNATURE_MAX_AGE_DAYS = env.get_int("SIGNATURE_MAX_AGE_DAYS", 730, minimum=1)
# Days after a statement's signing ends before the addresses of signers who asked to
# be kept informed are erased (sooner when they unsubscribe).
CONSENT_EMAIL_DAYS = env.get_int("CONSENT_EMAIL_DAYS", 90, minimum=1)
# How many proxies in front of the app append to X-Forwarded-For (0: none, use the
# connection's address). Only their entries are trusted; a client can forge the rest.
TRUSTED_PROXY_COUNT = env.get_int("TRUSTED_PROXY_COUNT", 0)
# Over these, a signature is held for review, silently. Many migrants share one
# dormitory Wi-Fi or carrier address, so the network limits are generous.
SIGNING_LIMITS = {
    "network_minute": env.get_int("SIGNING_LIMIT_NETWORK_MINUTE", 30, minimum=1),
    "network_day": env.get_int("SIGNING_LIMIT_NETWORK_DAY", 1000, minimum=1),
    "domain_minute": env.get_int("SIGNING_LIMIT_DOMAIN_MINUTE", 300, minimum=1),
    "domain_hour": env.get_int("SIGNING_LIMIT_DOMAIN_HOUR", 1000, minimum=1),
    "statement_minute": env.get_int("SIGNING_LIMIT_STATEMENT_MINUTE", 5000, minimum=1),
    "statement_hour": env.get_int("SIGNING_LIMIT_STATEMENT_HOUR", 150000, minimum=1),
}
# A form sent back sooner than this after it was shown is held as a bot's.
SIGNING_MIN_SECONDS = env.get_int("SIGNING_MIN_SECONDS", 3)
# The outbox relay: a row handed to a worker but still queued this long after lost its
# task with the broker and is offered again; a row claimed this long ago by a worker
# that died is taken back.
OUTBOX_RELAY_AGAIN_SECONDS = env.get_int("OUTBOX_RELAY_AGAIN_SECONDS", 300, minimum=1)
OUTBOX_STALE_SECONDS = env.get_int("OUTBOX_STALE_SECONDS", 600, minimum=1)
# Alerts to member contacts: their own delivery rows, sent by the "bulk" worker.
# Replies to an alert go to the secretariat, not to the no-reply sender.
ALERT_REPLY_TO = env.get_str("ALERT_REPLY_TO", "")
if ALERT_REPLY_TO and "@" not in ALERT_REPLY_TO:
    raise ImproperlyConfigured(
        f"ALERT_REPLY_TO={ALERT_REPLY_TO!r} must be an email address."
    )
# Deliveries one worker claims and sends over one SMTP connection at a time.
ALERT_BATCH_SIZE = env.get_int("ALERT_BATCH_SIZE", 100, minimum=1)
# A delivery claimed this long ago by a worker that died is offered again (it may
# then be sent twice, never lost); keep it well above the time a batch takes.
ALERT_STALE_SECONDS = env.get_int("ALERT_STALE_SECONDS", 300, minimum=1)
# Attempts per delivery (each claim counts one, so a message that kills its worker
# every time ends failed), and the first delay before a retry (doubling each time).
ALERT_MAX_ATTEMPTS = env.get_int("ALERT_MAX_ATTEMPTS", 5, minimum=1)
ALERT_RETRY_SECONDS = env.get_int("ALERT_RETRY_SECONDS", 60, minimum=1)
# How often beat releases due deliveries (scheduled sends, retries, rows left behind).
ALERT_RELEASE_SECONDS = env.get_int("ALERT_RELEASE_SECONDS", 5, minimum=1)
# Fan-out tasks started per alert: the bulk worker's concurrency.
ALERT_SENDERS = env.get_int("ALERT_SENDERS", 2, minimum=1)
# Sign-on letters to their targets (campaigns/letter_delivery.py), on the "bulk" worker.
# A delivery claimed this long ago by a worker that died is offered again (it may then
# go twice, never be lost); a letter left compiling this long is compiled again.
LETTER_STALE_SECONDS = env.get_int("LETTER_STALE_SECONDS", 600, minimum=1)
# A compiled letter bigger than this goes as a link to an unguessable download page
# instead of an attachment: many embassies' mail servers refuse large emails.
LETTER_ATTACHMENT_LIMIT = env.get_int(
    "LETTER_ATTACHMENT_LIMIT", 5 * 1024 * 1024, minimum=1
)
# The biggest PDF an organizer may upload (a target's reply, a letter of concern).
LETTER_UPLOAD_LIMIT = env.get_int("LETTER_UPLOAD_LIMIT", 10 * 1024 * 1024, minimum=1)

INSTALLED_APPS = [
    # django.contrib.admin, with the organizers' desk as its site.
    "ima_site.apps.OrganizersAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_countries",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ima_site",
    "statements",
    "signatories",
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Login attempts for one username from one network, one at a time: exact limits.
    "ima_site.accounts.LoginAttemptsTakeTurns",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): has this session given the second factor?
    "django_otp.middleware.OTPMiddleware",
    # A session with the password but not the code reaches only the code page.
    "ima_site.twofactor.TwoFactorMiddleware",
    # In the admin, a staff user's own time zone and language (their profile).
    "ima_site.middleware.OrganizerPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: turns a refused login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ima_site.urls"
WSGI_APPLICATION = "ima_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ima_site.context_processors.site",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------

DATABASE_URL = env.get_str("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. `make run` and `make test` set it to an embedded "
        "PostgreSQL; elsewhere use postgres://user:password@host:5432/name."
    )
# Persistent connections belong to gunicorn's few long-lived workers. The dev server
# runs every request in a new thread, and each thread would keep its own connection
# open for the whole age: a room of people signing at once exhausts PostgreSQL's
# max_connections ("too many clients"). So under runserver they close per request.
_dev_server = sys.argv[1:2] == ["runserver"]
DATABASE_CONN_MAX_AGE = env.get_int("DATABASE_CONN_MAX_AGE", 0 if _dev_server else 60)
try:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=DATABASE_CONN_MAX_AGE
        )
    }
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {error}") from None
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL (postgres://).")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.get_str("REDIS_URL")
if not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL is not set. `make run` and `make test` set it to an embedded "
        "Redis; elsewhere use redis://host:6379/0."
    )
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} must start with redis://.")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "ima",
        "TIMEOUT": 300,
    }
}
# Sessions live in PostgreSQL: only organizers have sessions, and the public pages
# must keep working when Redis is away.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Celery ------------------------------------------------------------------------

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Alerts go to a queue of their own with its own worker (`make run` starts both), so
# a signer's confirmation never waits behind a 10,000-contact fan-out.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "campaigns.tasks.send_alert_deliveries": {"queue": "bulk"},
    # Letters compile and go out on the bulk worker too: never in a web request, and
    # never in front of a signer's confirmation.
    "campaigns.tasks.deliver_letter": {"queue": "bulk"},
    "campaigns.tasks.send_letter_test": {"queue": "bulk"},
    "campaigns.tasks.send_letter_of_concern": {"queue": "bulk"},
}
CELERY_BEAT_SCHEDULE = {
    # Every 2 seconds: hand emails waiting in the outbox to the workers. Signing only
    # writes outbox rows, so with Redis away nothing is lost; they go out after.
    "relay-outbox": {"task": "ima_site.tasks.relay_outbox", "schedule": 2.0},
    # Every 3 seconds: fold new confirmations into the public counts.
    "apply-count-events": {
        "task": "signatories.tasks.apply_count_events",
        "schedule": 3.0,
    },
    # Hourly: one reminder to signers who have not confirmed after two days.
    "send-reminders": {
        "task": "signatories.tasks.send_reminders",
        "schedule": crontab(minute=17),
    },
    # Nightly at 02:40 UTC: compare counts with the signatures, fix and record drift.
    "reconcile-counts": {
        "task": "signatories.tasks.reconcile_counts",
        "schedule": crontab(hour=2, minute=40),
    },
    # Nightly at 03:10 UTC: remove personal data that is no longer needed.
    "apply-retention": {
        "task": "signatories.tasks.apply_retention",
        "schedule": crontab(hour=3, minute=10),
    },
    # Nightly at 03:20 UTC, after retention: the public download of a delivered
    # letter ends when retention has erased its signers' names.
    "erase-expired-letter-files": {
        "task": "campaigns.tasks.erase_expired_letter_files",
        "schedule": crontab(hour=3, minute=20),
    },
    # Nightly at 03:40 UTC: delete finished outbox rows (every signing writes one,
    # a bot's too, so the table would otherwise grow without end).
    "prune-outbox": {
        "task": "ima_site.tasks.prune_outbox",
        "schedule": crontab(hour=3, minute=40),
    },
    # Nightly at 04:10 UTC: delete expired sessions. Django never does on its own,
    # and an organizer's may hold a paper file with signers' names.
    "clear-expired-sessions": {
        "task": "ima_site.tasks.clear_expired_sessions",
        "schedule": crontab(hour=4, minute=10),
    },
    # Every 30 seconds: flips statements whose publish_at has come to "published"
    # and writes their audit entries. The public pages already show a statement
    # from publish_at on, so beat running late never delays a publication.
    "publish-due-statements": {
        "task": "statements.tasks.publish_due_statements",
        "schedule": 30.0,
    },
    # Every ALERT_RELEASE_SECONDS: start the bulk worker on alert deliveries that are
    # due (scheduled sends, "09:00 in each zone", retries) and take back those a dead
    # worker left claimed. Fan-out tasks lost with Redis are made good here too.
    "release-alert-deliveries": {
        "task": "campaigns.tasks.release_alert_deliveries",
        "schedule": float(ALERT_RELEASE_SECONDS),
    },
    # Every ALERT_RELEASE_SECONDS too: start the sign-on letters whose deliver_at has
    # passed, take back deliveries a dead worker left claimed (LETTER_STALE_SECONDS),
    # and queue the bulk worker on letters with retries due or work lost with Redis.
    "release-letter-deliveries": {
        "task": "campaigns.tasks.release_letter_deliveries",
        "schedule": float(ALERT_RELEASE_SECONDS),
    },
}

# --- Mail --------------------------------------------------------------------------

vars().update(
    env.parse_email_url(
        "EMAIL_URL", env.get_str("EMAIL_URL", "file:var/mail"), str(BASE_DIR)
    )
)
DEFAULT_FROM_EMAIL = env.get_str(
    "DEFAULT_FROM_EMAIL", f"{SITE_NAME} <noreply@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ADMINS = [("Site administrators", a) for a in env.get_list("DJANGO_ADMINS", [])]

# --- Internationalization ----------------------------------------------------------

LANGUAGE_CODE = "en"
# The languages of the interface; statements may be written in any language.
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("fr", _("French")),
    ("id", _("Indonesian")),
    ("fil", _("Filipino")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env.get_str("TIME_ZONE", "UTC")

# --- Static files ------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (photos in action reports): outside the web root, served only
# through views that check what may be seen.
MEDIA_ROOT = env.get_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security ----------------------------------------------------------------------

# Behind a TLS-terminating proxy (the production set-up), trust its scheme header.
if env.get_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    if TRUSTED_PROXY_COUNT == 0:
        # Every request would then come from the proxy's address: all visitors
        # would share one bucket of the signing limits.
        raise ImproperlyConfigured(
            "DJANGO_BEHIND_PROXY=1 but TRUSTED_PROXY_COUNT=0: set TRUSTED_PROXY_COUNT "
            "to the number of proxies in front that append to X-Forwarded-For "
            "(1 for one nginx or Caddy)."
        )
HTTPS = env.get_bool("DJANGO_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.get_int("DJANGO_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env.get_bool("DJANGO_HSTS_PRELOAD", False)
# Joining the browsers' HSTS preload list binds every subdomain for years: a choice
# for the operators (DJANGO_HSTS_PRELOAD=1), not a default to be warned about.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Organizers' logins ------------------------------------------------------------

# Axes' backend first: it refuses a locked-out login before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# The preview and other organizer pages send logged-out visitors to the admin login.
LOGIN_URL = "admin:login"
# After this many failed logins for one username from one network within the
# cool-off period, that username is refused from that network for the period.
# At least 2: one typo must never lock an organizer out.
AXES_FAILURE_LIMIT = env.get_int("LOGIN_FAILURE_LIMIT", 5, minimum=2)
AXES_COOLOFF_TIME = timedelta(
    minutes=env.get_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1)
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Axes' "IP address" is the keyed hash of the client's network prefix (behind the
# proxies of TRUSTED_PROXY_COUNT), and its records are our audit entries: axes'
# own tables would keep addresses and browsers in clear.
AXES_CLIENT_IP_CALLABLE = "ima_site.accounts.client_network"
AXES_HANDLER = "ima_site.accounts.AuditLogHandler"
AXES_LOCKOUT_CALLABLE = "ima_site.accounts.locked_out"
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
# Attempts during a lock-out are refused (and audited) without prolonging it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Authenticator apps show the site's name beside the code.
OTP_TOTP_ISSUER = SITE_NAME

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- API ---------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Tokens first: an anonymous request to an organizers' endpoint then gets a
    # 401 with WWW-Authenticate: Token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ima_site.tokens.OrganizerTokenAuthentication",
        # A session counts only while its user is an organizer (as a token).
        "ima_site.tokens.OrganizerSessionAuthentication",
    ],
    # JSON objects only: a form-encoded body gets 415, a list or a lone surrogate 400.
    "DEFAULT_PARSER_CLASSES": ["ima_site.api.JSONObjectParser"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PAGINATION_CLASS": "ima_site.api.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
# Organizers' API tokens (django-rest-knox, stored hashed, in ima_site.ApiToken):
# each expires this many days after it is made; make a new one then.
API_TOKEN_DAYS = env.get_int("API_TOKEN_DAYS", 90, minimum=1)
KNOX_TOKEN_MODEL = "ima_site.ApiToken"  # noqa: S105 - a model, not a secret
# knox's own migrations would make a table for its AuthToken even though ours
# replaces it (they do not mark the model swappable); nothing of knox's is stored.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=API_TOKEN_DAYS),
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IMA campaign site API",
    "DESCRIPTION": "Published statements of the International Migrants Alliance.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Deep links put a link inside each operation's expand button: a control nested
    # in a control, which screen readers cannot reach (axe: nested-interactive).
    # Its syntax colours fall below 4.5:1 contrast; plain text reads fine.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "syntaxHighlight": False},
    "REDOC_DIST": "SIDECAR",
    # Django's slug converter, so that a client (and the schema fuzzer) knows a slug
    # that cannot be one is a 404.
    "PATH_CONVERTER_OVERRIDES": {
        "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}
    },
    "ENUM_NAME_OVERRIDES": {
        "StatementKindEnum": "statements.models.Statement.Kind",
        "StatementStatusEnum": "statements.models.Statement.Status",
        "SignatureKindEnum": "signatories.models.Signature.Kind",
        "SignatureStatusEnum": "signatories.models.Signature.Status",
    },
}

# --- Logging -----------------------------------------------------------------------

LOG_LEVEL = env.get_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL={LOG_LEVEL!r} must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
    )

# Error reports (the mails to DJANGO_ADMINS and the debug page) carry no email or IP
# address of anyone, and no posted values: see ima_site/errors.py.
DEFAULT_EXCEPTION_REPORTER = "ima_site.errors.PrivateExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "ima_site.errors.PrivateExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        "routine_tasks": {
            "()": "ima_site.logs.RoutineTasks",
            "tasks": sorted({job["task"] for job in CELERY_BEAT_SCHEDULE.values()}),
        },
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "mail_admins": {
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "class": "ima_site.errors.PrivateAdminEmailHandler",
            "include_html": True,
        },
    },
    # Replaces Django's own "django" logger set-up, whose mail handler would send
    # the report unscrubbed; records still reach the console through the root.
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        # Beat's and the worker's lines about periodic jobs, at debug (see the filter).
        "celery.beat": {"filters": ["routine_tasks"]},
        "celery.worker.strategy": {"filters": ["routine_tasks"]},
        "celery.app.trace": {"filters": ["routine_tasks"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
