"""The one place that reads the process environment for settings."""

from __future__ import annotations

import sys

import environ

env = environ.Env()


class MissingSetting(SystemExit):
    """Stops start-up with a message naming the missing variable."""


def require(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        sys.stderr.write(
            f"Configuration error: the environment variable {name} is required in production "
            "mode (DEBUG=false). See the README's configuration section.\n"
        )
        raise MissingSetting(2)
    return value
