"""Test settings: the product's settings with a throwaway data directory."""

import os
import tempfile

os.environ.setdefault("AFTERCART_DATA_DIR", tempfile.mkdtemp(prefix="aftercart-test-"))
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("AFTERCART_ESP_WEBHOOK_SECRET", "esp:test-webhook-secret")

from aftercart.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
WORKER_STALE_SECONDS = 3
WORKER_MAINTENANCE_SECONDS = 0.5
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
