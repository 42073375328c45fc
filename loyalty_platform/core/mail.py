"""Mail: the one way an email is rendered (email_build, in the recipient's language with a
plain-text and an HTML part) and the backends that deliver and count it."""

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.db import connection
from django.template.loader import render_to_string
from django.utils import translation
from django_tenants.utils import get_public_schema_name

from loyalty_platform.core.i18n import supported_language
from loyalty_platform.core.metering import usage_add
from loyalty_platform.core.text import header_safe

# Longer subjects are cut: mail clients show less, and some servers refuse long headers.
SUBJECT_LENGTH = 200


def email_language(*choices: str | None) -> str:
    """The first of `choices` that is one of LANGUAGES (most specific first: the person's
    own, then the organization's), else English (decision 0058)."""
    for choice in choices:
        if found := supported_language(choice):
            return found
    return settings.LANGUAGE_CODE


def email_build(
    *,
    language: str,
    template: str,
    subject: str | Callable[[], str],
    context: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    to: list[str],
    organization: Any = None,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """The message with its subject, plain text (`template`.txt) and HTML (`template`.html,
    which extends emails/layout.html) all rendered under translation.override(language): a
    Celery worker has no request language, so nothing may depend on the active one.

    `subject` and `context` may be callables, evaluated inside the override, for values
    that are words (gettext, dates with month names). `organization` (its name and brand
    colour) heads the HTML part; the platform's own emails have none."""
    language = email_language(language)
    with translation.override(language):
        values = dict(context() if callable(context) else context)
        subject_text = header_safe(subject() if callable(subject) else subject)[:SUBJECT_LENGTH]
        values.update(
            {"email_language": language, "email_subject": subject_text, "organization": organization}
        )
        text = render_to_string(f"{template}.txt", values)
        html = render_to_string(f"{template}.html", values)
    message = EmailMultiAlternatives(subject=subject_text, body=text, to=to, headers=headers)
    message.attach_alternative(html, "text/html")
    return message


class FileAndConsoleBackend(FileBackend):
    """Development mail: each message is written to a file under var/mail/ and printed."""

    def send_messages(self, email_messages):
        ConsoleBackend(fail_silently=self.fail_silently).send_messages(email_messages)
        return super().send_messages(email_messages)


class CountingBackend(BaseEmailBackend):
    """Hands the messages to settings.EMAIL_DELIVERY_BACKEND and counts those it sent in an
    organization's schema as that organization's messages of the day (core.metering)."""

    def __init__(self, fail_silently=False, **kwargs):
        super().__init__(fail_silently=fail_silently)
        self.delivery = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=fail_silently, **kwargs)

    def open(self):
        return self.delivery.open()

    def close(self):
        return self.delivery.close()

    def send_messages(self, email_messages):
        sent = self.delivery.send_messages(email_messages)
        schema_name = connection.schema_name
        if sent and schema_name != get_public_schema_name():
            usage_add(schema_name=schema_name, metric="messages", amount=sent)
        return sent
