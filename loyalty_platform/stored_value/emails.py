from email.mime.image import MIMEImage

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from loyalty_platform.campaigns.selectors import organization_zone
from loyalty_platform.core.faults import task_send_on_commit
from loyalty_platform.core.mail import email_build
from loyalty_platform.core.qr import qr_png
from loyalty_platform.customers.mail import customer_email_language
from loyalty_platform.customers.models import Customer
from loyalty_platform.stored_value.models import Giftcard


def giftcard_email_send_on_commit(*, giftcard_id: int) -> None:
    from loyalty_platform.stored_value.tasks import send_giftcard_email

    task_send_on_commit(send_giftcard_email, (giftcard_id,))


def giftcard_email_language(giftcard: Giftcard) -> str:
    """The recipient's language: theirs when the address is a customer's here, else the
    organization's (decision 0058)."""
    customer = (
        Customer.objects.filter(email__iexact=giftcard.recipient_email)
        .exclude(email="")
        .only("language")
        .first()
        if giftcard.recipient_email
        else None
    )
    return customer_email_language(customer)


def giftcard_email_send(*, giftcard_id: int) -> None:
    """The recipient's email, in their language: the code, its QR (inline image), the amount
    and the sender's message."""
    giftcard = Giftcard.objects.get(pk=giftcard_id)
    organization = connection.tenant
    sender = giftcard.sender_name or organization.name
    message = email_build(
        language=giftcard_email_language(giftcard),
        template="emails/giftcard",
        subject=lambda: gettext("A giftcard from %(sender)s") % {"sender": sender},
        context={
            "giftcard": giftcard,
            "expires_day": (
                timezone.localtime(giftcard.expires_at, organization_zone()).date()
                if giftcard.expires_at
                else None
            ),
        },
        to=[giftcard.recipient_email],
        organization=organization,
    )
    qr = MIMEImage(qr_png(giftcard.code), "png")
    qr.add_header("Content-ID", "<giftcard-qr>")
    qr.add_header("Content-Disposition", "inline", filename="giftcard-qr.png")
    message.mixed_subtype = "related"
    message.attach(qr)
    message.send()
