from email.mime.image import MIMEImage

from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.template.loader import render_to_string

from loyalty_platform.core.faults import task_send_on_commit
from loyalty_platform.core.money import money_text
from loyalty_platform.core.qr import qr_png
from loyalty_platform.core.text import header_safe
from loyalty_platform.stored_value.models import Giftcard


def giftcard_email_send_on_commit(*, giftcard_id: int) -> None:
    from loyalty_platform.stored_value.tasks import send_giftcard_email

    task_send_on_commit(send_giftcard_email, (giftcard_id,))


def giftcard_email_send(*, giftcard_id: int) -> None:
    """The recipient's email: the code, its QR (inline image), the amount and the message."""
    giftcard = Giftcard.objects.get(pk=giftcard_id)
    organization = connection.tenant
    context = {
        "giftcard": giftcard,
        "organization": organization,
        "amount": money_text(giftcard.balance, giftcard.currency),
    }
    subject = header_safe(f"A giftcard from {giftcard.sender_name or organization.name}")
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/giftcard.txt", context),
        to=[giftcard.recipient_email],
    )
    message.attach_alternative(render_to_string("emails/giftcard.html", context), "text/html")
    qr = MIMEImage(qr_png(giftcard.code), "png")
    qr.add_header("Content-ID", "<giftcard-qr>")
    qr.add_header("Content-Disposition", "inline", filename="giftcard-qr.png")
    message.mixed_subtype = "related"
    message.attach(qr)
    message.send()
