"""Fupin settings, read from the environment and validated.

With nothing configured Fupin runs on the embedded default: a SQLite database (WAL) and a
generated secret key, both kept in the data folder ``FUPIN_DATA_DIR`` (default ``./var``).

Environment variables:
    DATABASE_URL          e.g. postgres://user@127.0.0.1:5432/fupin (default: SQLite in the data folder)
    FUPIN_DATA_DIR        folder for the SQLite database, the secret key and uploads
    FUPIN_SECRET_KEY      secret key (default: generated once into the data folder)
    FUPIN_ALLOWED_HOSTS   comma-separated host names (default: localhost,127.0.0.1)
    FUPIN_DEBUG           true/false (default false)
    FUPIN_SECURE_COOKIES  true/false: cookies only over HTTPS (default: true unless debug)
    FUPIN_PHOTO_MAX_BYTES    largest evidence photo in bytes (default 8 MiB)
    FUPIN_UPLOAD_MAX_BYTES   largest import upload in bytes (default 512 MiB)
    FUPIN_IMPORT_MAX_UNCOMPRESSED_BYTES  what an import package may unpack to (default 2 GiB)
    FUPIN_IMPORT_MAX_COMPRESSION_RATIO   largest compression ratio of a package member (1000)
    FUPIN_JOBS_AUTOSTART     true/false: web processes run queued jobs in a thread (default true)
    FUPIN_JOB_STALE_SECONDS  a running job without heartbeat for this long is re-run (default 60)
    FUPIN_PDF_FONT           TrueType font (.ttf/.ttc) embedded in PDF notices (default: WenQuanYi)
"""

import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from fupin.env import env_bool, env_int, env_list, env_str

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("FUPIN_DATA_DIR", str(Path.cwd() / "var"))).resolve()

DEBUG = env_bool("FUPIN_DEBUG", default=False)


def _secret_key() -> str:
    configured = env_str("FUPIN_SECRET_KEY")
    if configured:
        if len(configured) < 32:
            msg = "FUPIN_SECRET_KEY must be at least 32 characters long"
            raise ImproperlyConfigured(msg)
        return configured
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="ascii").strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key, encoding="ascii")
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("FUPIN_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])


def _database() -> dict[str, Any]:
    url = env_str("DATABASE_URL")
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "fupin.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA cache_size=-64000; PRAGMA mmap_size=268435456;"
                ),
            },
        }
    if not url.startswith(("postgres://", "postgresql://", "sqlite://")):
        msg = f"DATABASE_URL must be a postgres:// or sqlite:// URL; got scheme {url.split(':', 1)[0]!r}"
        raise ImproperlyConfigured(msg)
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    except ValueError as exc:
        msg = f"DATABASE_URL cannot be read: {exc}"
        raise ImproperlyConfigured(msg) from None
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "fupin.core",
    "fupin.divisions",
    "fupin.accounts",
    "fupin.registry",
    "fupin.policy",
    "fupin.assistance",
    "fupin.pairing",
    "fupin.exchange",
    "fupin.procedures",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "fupin.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "fupin.core.middleware.DefaultLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "fupin.urls"
WSGI_APPLICATION = "fupin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fupin.accounts.context_processors.actor",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "registry:household-list"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins allowed per username and address before a lock-out, and its length.
LOGIN_FAILURE_LIMIT = env_int("FUPIN_LOGIN_FAILURE_LIMIT", default=5, minimum=1, maximum=100)
LOGIN_LOCKOUT_SECONDS = env_int("FUPIN_LOGIN_LOCKOUT_SECONDS", default=900, minimum=1)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Without collectstatic (tests, development) WhiteNoise serves from the apps' static folders.
WHITENOISE_USE_FINDERS = True

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SECURE_COOKIES = env_bool("FUPIN_SECURE_COOKIES", default=False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Largest evidence photo accepted (assistance measures and projects), in bytes.
PHOTO_MAX_BYTES = env_int("FUPIN_PHOTO_MAX_BYTES", default=8 * 1024 * 1024, minimum=1024)
# Largest exchange package (one file, or both CSV files together) accepted for import through the
# web or the API, in bytes.
UPLOAD_MAX_BYTES = env_int("FUPIN_UPLOAD_MAX_BYTES", default=512 * 1024 * 1024, minimum=1024)
# ZIP bomb caps for import packages (an XLSX workbook or a ZIP of CSV files): the bytes all its
# members may unpack to (declared and actually read), and the largest compression ratio of one.
IMPORT_MAX_UNCOMPRESSED_BYTES = env_int(
    "FUPIN_IMPORT_MAX_UNCOMPRESSED_BYTES",
    default=2 * 1024**3,
    minimum=1024 * 1024,
    maximum=1024**4,
)
IMPORT_MAX_COMPRESSION_RATIO = env_int(
    "FUPIN_IMPORT_MAX_COMPRESSION_RATIO", default=1000, minimum=10, maximum=100_000
)

# Background jobs (imports, exports): the database is the queue and `fupin run-jobs` works it.
# With JOBS_AUTOSTART a web process that queues a job also starts a worker thread if it has none,
# so `fupin runserver` alone runs jobs. A running job whose worker sent no heartbeat for
# JOB_STALE_SECONDS is queued again and re-run (imports are idempotent and applied per unit).
JOBS_AUTOSTART = env_bool("FUPIN_JOBS_AUTOSTART", default=True)
JOB_STALE_SECONDS = env_int("FUPIN_JOB_STALE_SECONDS", default=60, minimum=5, maximum=86400)

# The CJK TrueType font embedded (as a subset) in the PDFs of public notices. Empty: the first
# found of Debian's fonts-wqy-microhei, fonts-wqy-zenhei, fonts-arphic-uming
# (fupin/procedures/notices.py). A path set here is used alone: if it is missing the PDF is refused.
PDF_FONT = env_str("FUPIN_PDF_FONT")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "fupin.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "fupin.core.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "fupin.core.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fupin API",
    "DESCRIPTION": "Fupin platform API v1: households, members and yearly records (扶贫平台接口).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"personal_data": {"()": "fupin.core.logging.PersonalDataFilter"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["personal_data"]},
        # The development server logs request lines, whose query strings may hold id numbers.
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["personal_data"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("FUPIN_LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
