"""Settings of the web server under test in the PostgreSQL fault test: the suite's, with a
short idempotency takeover. An earn whose claim could not be released while the database was
unreachable stays claimed until taken over; a minute of waiting would not fit the test."""

from loyalty_platform.settings.test import *  # noqa: F403

IDEMPOTENCY_TAKEOVER_SECONDS = 2
