from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend


class FileAndConsoleBackend(FileBackend):
    """Development mail: each message is written to a file under var/mail/ and printed."""

    def send_messages(self, email_messages):
        ConsoleBackend(fail_silently=self.fail_silently).send_messages(email_messages)
        return super().send_messages(email_messages)
