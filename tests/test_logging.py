"""Logging as a developer reads it in the terminal: each request warning printed once."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import django
django.setup()
from django.test import Client
Client().get("/no-such-page/")
"""


def test_a_request_warning_is_printed_once_with_debug_on():
    env = {
        **os.environ,
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "postmortems.settings",
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": "sqlite:////tmp/postmortem-studio-logging.sqlite3",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Not Found: /no-such-page/") == 1, result.stderr
