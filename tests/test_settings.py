"""Settings refuse values they cannot understand instead of guessing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.DEBUG, s.ALLOWED_HOSTS)"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_secret_key_stops_start_up_when_debug_is_off():
    result = load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_with_an_unclear_value_is_an_error_not_false():
    result = load_settings(DEBUG="yes please", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "DEBUG='yes please' is not a boolean" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TRACKER_MIN_INTERVAL", "soon", "is not a whole number"),
        ("TRACKER_HOST_CONCURRENCY", "0", "below the minimum of 1"),
    ],
)
def test_numeric_settings_refuse_bad_values(name, value, message):
    result = load_settings(DEBUG="1", **{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_with_a_secret_start_and_allow_only_named_hosts():
    result = load_settings(DEBUG="off", SECRET_KEY="x" * 50, ALLOWED_HOSTS="news.example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ['news.example.org']"


def test_debug_defaults_to_local_hosts():
    result = load_settings(DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True ['127.0.0.1', 'localhost']"
