"""Configuration from the environment, with defaults that work on a laptop."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aftercart.settings import _email

ROOT = Path(__file__).resolve().parents[1]


def read_settings(tmp_path, **env) -> dict:
    code = (
        "import json; from django.conf import settings; import django; django.setup();"
        "d = settings.DATABASES['default'];"
        "print(json.dumps({'key': settings.SECRET_KEY, 'engine': d['ENGINE'], 'name': str(d['NAME']),"
        " 'options': d.get('OPTIONS', {}), 'email_host': getattr(settings, 'EMAIL_HOST', ''),"
        " 'email_port': getattr(settings, 'EMAIL_PORT', 0), 'hosts': settings.ALLOWED_HOSTS}))"
    )
    clean = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL", "EMAIL_URL")
    }
    clean.update(
        {"AFTERCART_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "aftercart.settings", **env}
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=clean,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    return json.loads(out.stdout)


def test_defaults_sqlite_in_the_data_dir_with_wal_and_a_kept_secret_key(tmp_path):
    first = read_settings(tmp_path)
    second = read_settings(tmp_path)
    assert first["engine"] == "aftercart.core.sqlite"  # Django's, writers queued per process
    assert first["name"] == str(tmp_path / "aftercart.sqlite3")
    assert "journal_mode=WAL" in first["options"]["init_command"]
    assert "busy_timeout" in first["options"]["init_command"]
    assert len(first["key"]) > 40 and first["key"] == second["key"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only


def test_environment_wins(tmp_path):
    got = read_settings(
        tmp_path,
        SECRET_KEY="from-env",
        DATABASE_URL="postgres://u:p@127.0.0.1:5432/shopdb",
        EMAIL_URL="smtp://mailer:pw@127.0.0.1:1025",
        ALLOWED_HOSTS="shop.example.com,127.0.0.1",
    )
    assert got["key"] == "from-env"
    assert got["engine"] == "django.db.backends.postgresql" and got["name"] == "shopdb"
    assert (got["email_host"], got["email_port"]) == ("127.0.0.1", 1025)
    assert got["hosts"] == ["shop.example.com", "127.0.0.1"]
    assert not (tmp_path / "secret_key").exists()


def test_email_url_forms():
    assert _email("smtps://u:p%40ss@127.0.0.1")["EMAIL_USE_SSL"] is True
    assert _email("smtps://u:p%40ss@127.0.0.1")["EMAIL_HOST_PASSWORD"] == "p@ss"
    assert _email("smtp://127.0.0.1:587?tls=1")["EMAIL_USE_TLS"] is True
    assert _email("console://")["EMAIL_BACKEND"].endswith("console.EmailBackend")
    with pytest.raises(ValueError, match="unsupported scheme 'ftp'"):
        _email("ftp://127.0.0.1")
