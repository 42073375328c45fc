"""Settings for the test suite: the same real servers, a Redis namespace of its own (so a
running `make run` is not disturbed), fast password hashing."""

import os

from . import *  # noqa: F403
from .services import REDIS_URL, redis_settings

# Helper processes a test starts (a Celery worker, a web server) pass theirs down explicitly.
REDIS_NAMESPACE = os.environ.get("TEST_REDIS_NAMESPACE") or f"test{os.getpid()}"
globals().update(redis_settings(REDIS_URL, REDIS_NAMESPACE))

# Lets the suite tell its helper processes' database sessions from its own.
DATABASES["default"]["OPTIONS"]["application_name"] = os.environ.get("DATABASE_APPLICATION_NAME", "pytest")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A helper process whose mail a test reads (a Celery worker sending campaign emails) writes
# it as files there, as the development set-up does under var/mail/.
if os.environ.get("TEST_EMAIL_FILE_PATH"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["TEST_EMAIL_FILE_PATH"]
EMAIL_DELIVERY_BACKEND = EMAIL_BACKEND

SMS_BACKEND = "locmem"
# A helper process whose text messages a test reads writes them as files there.
if os.environ.get("TEST_SMS_FILE_PATH"):
    SMS_BACKEND = "file"
    SMS_FILE_PATH = os.environ["TEST_SMS_FILE_PATH"]
