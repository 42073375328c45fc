"""The test settings with the dashboard mounted, for the server the browser test starts."""

from loyalty_platform.settings.test import *  # noqa: F403

ROOT_URLCONF = "tests.reports.urls"
