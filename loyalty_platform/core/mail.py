from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.db import connection
from django_tenants.utils import get_public_schema_name

from loyalty_platform.core.metering import usage_add


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
