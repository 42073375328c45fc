"""Text messages, through one small interface: `send_sms(to, text)`.

The backend is named by the SMS_BACKEND setting, as EMAIL_BACKEND names Django's mail
backend, but from a fixed list (no import by dotted path):

- "console": printed on standard output (development);
- "file": one file per message under SMS_FILE_PATH (development: var/sms/), for a person or
  a test in another process to read;
- "locmem": kept in `outbox` (the tests, like django.core.mail.outbox);
- "http": the operator's provider: a POST of JSON `{"to", "from", "text"}` to SMS_HTTP_URL with
  `Authorization: Bearer <SMS_HTTP_TOKEN>`; any 2xx is accepted;
- "" (production until the operator configures one): no sender; `sms_configured()` is False
  and `send_sms` refuses with SmsNotConfigured, so a feature needing SMS stays off.
"""

import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings
from django.utils import timezone


@dataclass(frozen=True)
class SmsMessage:
    to: str
    text: str
    sender: str


class SmsError(OSError):
    """The message could not be handed to the provider (an OSError: Celery tasks retry it)."""


class SmsNotConfigured(RuntimeError):
    """No SMS_BACKEND: nothing may be sent (callers check sms_configured() first)."""


# The messages the locmem backend "sent", oldest first; tests empty it between tests.
outbox: list[SmsMessage] = []


def _console(message: SmsMessage) -> None:
    sys.stdout.write(f"SMS to {message.to} from {message.sender}:\n{message.text}\n{'-' * 40}\n")
    sys.stdout.flush()


def _file(message: SmsMessage) -> None:
    directory = Path(settings.SMS_FILE_PATH)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.txt"
    path = directory / name
    # Written under another name, then renamed: a reader never sees half a message.
    partial = directory / f".{name}.partial"
    partial.write_text(f"To: {message.to}\nFrom: {message.sender}\n\n{message.text}\n", encoding="utf-8")
    partial.rename(path)


def _locmem(message: SmsMessage) -> None:
    outbox.append(message)


def _http(message: SmsMessage) -> None:
    try:
        response = requests.post(
            settings.SMS_HTTP_URL,
            json={"to": message.to, "from": message.sender, "text": message.text},
            headers={"Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}"},
            timeout=settings.SMS_HTTP_TIMEOUT,
        )
    except requests.RequestException as error:
        raise SmsError(f"SMS provider unreachable: {error.__class__.__name__}") from error
    if not 200 <= response.status_code < 300:
        raise SmsError(f"SMS provider answered {response.status_code}")


BACKENDS = {"console": _console, "file": _file, "locmem": _locmem, "http": _http}


def sms_configured() -> bool:
    """Whether the platform can send text messages at all."""
    return bool(settings.SMS_BACKEND)


def send_sms(to: str, text: str) -> None:
    """Send `text` to the E.164 number `to` through the configured backend."""
    backend = settings.SMS_BACKEND
    if not backend:
        raise SmsNotConfigured()
    BACKENDS[backend](SmsMessage(to=to, text=text, sender=settings.SMS_SENDER))


def sms_files(directory: Path) -> list[dict]:
    """The messages the file backend wrote in `directory`, oldest first, each as
    {"to", "from", "text"} (for tests and tools reading another process's messages)."""
    found = []
    for path in sorted(Path(directory).glob("*.txt")):
        head, _, text = path.read_text(encoding="utf-8").partition("\n\n")
        fields = dict(line.split(": ", 1) for line in head.splitlines())
        found.append({"to": fields["To"], "from": fields["From"], "text": text.rstrip("\n")})
    return found
