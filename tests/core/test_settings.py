"""Production mode (DEBUG=false) refuses to start without its required variables."""

import os
import subprocess
import sys

import pytest

from loyalty_platform.embedded import BASE_DIR

PRODUCTION = {
    "DEBUG": "false",
    "DATABASE_URL": "postgres://user:pw@127.0.0.1:1/none",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "SECRET_KEY": "x" * 50,
    "PLATFORM_HOST": "loyalty.example.com",
}


def _start(missing: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    env.update({k: v for k, v in PRODUCTION.items() if k != missing})
    env["DJANGO_SETTINGS_MODULE"] = "loyalty_platform.settings"
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "REDIS_URL", "PLATFORM_HOST"])
def test_missing_required_setting_stops_start_up_naming_it(missing):
    result = _start(missing)

    assert result.returncode == 2
    assert f"the environment variable {missing} is required" in result.stderr
    assert "started" not in result.stdout


def test_production_starts_when_everything_is_set():
    result = _start(missing="")

    assert (result.returncode, result.stdout.strip()) == (0, "started")
