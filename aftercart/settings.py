"""Settings read from the environment, with defaults that run the whole product on a laptop.

Every knob an operator needs is an environment variable; nothing here has to be edited.
See docs/operations.md for the list.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import dj_database_url
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("AFTERCART_DATA_DIR", "aftercart-data")).resolve()


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """The key from SECRET_KEY, else one generated on first run and kept in the data dir.

    Keeping it on disk matters: signed links in emails and encrypted store credentials
    must survive a restart.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DATA_DIR / 'aftercart.sqlite3'}"
    db = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # Opening a SQLite connection (and running the PRAGMAs below) costs more than a
        # small write, so each thread keeps its connection like on PostgreSQL.
        db.pop("CONN_HEALTH_CHECKS", None)
        # Django's SQLite backend, with a process's writers queued on a lock (see there).
        db["ENGINE"] = "aftercart.core.sqlite"
        db["OPTIONS"] = {
            # WAL lets readers and the one writer work at once; IMMEDIATE takes the write
            # lock at BEGIN so two writers queue on the busy timeout instead of deadlocking.
            # A 64 MB page cache per connection (filled only as pages are read) instead
            # of 2 MB: +8 % for the worker at 100,000 orders (docs/flows-benchmark.md).
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000; PRAGMA cache_size=-65536;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        db["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    return db


def _email(url: str) -> dict:
    """EMAIL_URL: smtp://user:pass@host:port (?tls=1 or smtps:// for TLS), console://, locmem://,
    outbox:// (nothing leaves: each email stays readable in the dashboard's outbox; the demo's)."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "outbox":
        return {"EMAIL_BACKEND": "aftercart.messaging.backends.KeepInOutbox"}
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme == "anymail":
        # anymail://postmark?server_token=… : any provider django-anymail supports; each
        # query parameter is that provider's setting (POSTMARK_SERVER_TOKEN).
        esp = (parsed.hostname or "").lower()
        if not esp.replace("_", "").isalnum():
            raise ValueError("EMAIL_URL: anymail://<provider>?<setting>=<value>, e.g. postmark")
        return {
            "EMAIL_BACKEND": f"anymail.backends.{esp}.EmailBackend",
            "ANYMAIL": {
                f"{esp.upper()}_{name.upper()}": values[-1]
                # "+" is a character of many keys, not a space.
                for name, values in parse_qs(parsed.query.replace("+", "%2B")).items()
            },
        }
    if scheme not in {"smtp", "smtps", "submission"}:
        raise ValueError(
            f"EMAIL_URL: unsupported scheme {scheme!r} (use smtp, smtps, anymail, console or outbox)"
        )
    query = parse_qs(parsed.query)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parsed.hostname or "127.0.0.1",
        "EMAIL_PORT": parsed.port or (465 if scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parsed.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
        "EMAIL_USE_SSL": scheme == "smtps",
        "EMAIL_USE_TLS": scheme == "submission" or query.get("tls", ["0"])[0] in {"1", "true"},
        "EMAIL_TIMEOUT": 20,
    }


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG")
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
# How many proxies in front append to X-Forwarded-For (0: none; the peer's address is the
# client's). Only then is the header believed: a client can write anything into it.
AFTERCART_PROXY_HOPS = int(os.environ.get("AFTERCART_PROXY_HOPS", "0") or 0)
# Outgoing webhooks to private or loopback addresses (SSRF): refused unless allowed.
AFTERCART_WEBHOOKS_ALLOW_PRIVATE = _env_bool("AFTERCART_WEBHOOKS_ALLOW_PRIVATE")
BASE_URL = os.environ.get("AFTERCART_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# The largest webhook or API body accepted; larger ones get a 413 before they are read.
MAX_BODY_BYTES = int(os.environ.get("AFTERCART_MAX_BODY_BYTES", str(2 * 1024 * 1024)))
# Return photos and emails with attachments (core.middleware names the paths).
MAX_UPLOAD_BYTES = int(os.environ.get("AFTERCART_MAX_UPLOAD_BYTES", str(40 * 1024 * 1024)))
# Django refuses larger bodies too; core.middleware has refused them sooner, per path.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves the API docs' Swagger UI from our own static files, not a CDN
    "django_tasks",
    "anymail",
    "django_tasks_db",
    "aftercart.core",
    "aftercart.customers",
    "aftercart.orders",
    "aftercart.messaging",
    "aftercart.webhooks",
    "aftercart.returns",
    "aftercart.support",
    "aftercart.flows",
    "aftercart.integrations",
    "aftercart.dashboard",
    "aftercart.api",
    "aftercart.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "aftercart.core.middleware.BodySizeLimit",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "aftercart.urls"
WSGI_APPLICATION = "aftercart.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
    {
        # The customer's pages (portal): aftercart/portal/jinja.py says why.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"environment": "aftercart.portal.jinja.environment"},
    },
]

DATABASES = {"default": _database()}
# Per process, in memory: rendered order-status pages (keyed by their order's version, so
# never stale) and the dashboard's carrier table. Room for a busy morning's pages.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("AFTERCART_CACHE_ENTRIES", "3000"))},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "intake"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("nl", _("Dutch"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

for _key, _value in _email(os.environ.get("EMAIL_URL", "console://")).items():
    globals()[_key] = _value
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Aftercart <aftercart@localhost>")
# A backlog over SMTP goes out through a courier process while the next batch renders
# (aftercart/messaging/courier.py); 0 sends from the worker's own process.
EMAIL_COURIER = os.environ.get("AFTERCART_EMAIL_COURIER", "1") != "0"
# The provider's webhooks (bounces, complaints, inbound mail) at /esp/<provider>/tracking/
# and /esp/<provider>/inbound/ must present this "user:password" (HTTP basic auth).
ANYMAIL = {
    **globals().get("ANYMAIL", {}),
    "WEBHOOK_SECRET": os.environ.get("AFTERCART_ESP_WEBHOOK_SECRET", ""),
}
# Opens and clicks: tracked by the provider only when the shop turns them on.
AFTERCART_TRACK_OPENS = _env_bool("AFTERCART_TRACK_OPENS")
AFTERCART_TRACK_CLICKS = _env_bool("AFTERCART_TRACK_CLICKS")
# A mailbox whose incoming mail reaches /esp/<provider>/inbound/: offered as the mailto:
# of List-Unsubscribe when set (e.g. unsubscribe@mail.example.com).
AFTERCART_UNSUBSCRIBE_MAILBOX = os.environ.get("AFTERCART_UNSUBSCRIBE_MAILBOX", "")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

NINJA_PAGINATION_PER_PAGE = 50
