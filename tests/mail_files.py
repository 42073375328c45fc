"""The emails a helper process (a Celery worker) wrote with Django's file backend
(EMAIL_BACKEND filebased, TEST_EMAIL_FILE_PATH): tests read them back from the directory."""

import email
from email import policy
from pathlib import Path

# The file backend writes each message followed by a line of 79 dashes.
_SEPARATOR = b"\n" + b"-" * 79 + b"\n"


def emails_in(mail_dir: Path) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(mail_dir.glob("*.log")):
        # Bytes: a body in 8bit UTF-8 (any non-ASCII text) parsed from str comes back escaped.
        for raw in path.read_bytes().split(_SEPARATOR):
            if raw.strip():
                found.append(email.message_from_bytes(raw.strip() + b"\n", policy=policy.default))
    return found


def emails_to(mail_dir: Path, address: str) -> list[email.message.EmailMessage]:
    return [message for message in emails_in(mail_dir) if message["To"] == address]
