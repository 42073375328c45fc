from django.core.mail import send_mail
from django.db import connection, transaction

from loyalty_platform.core.text import header_safe
from loyalty_platform.identification.models import Invitation


def invitation_email_send_on_commit(*, invitation_id: str, url: str) -> None:
    organization = connection.tenant

    def send() -> None:
        invitation = Invitation.objects.get(pk=invitation_id)
        send_mail(
            subject=header_safe(f"Join {organization.name}'s loyalty program"),
            message=(
                f"Hello,\n\nYou were invited to join {organization.name}'s loyalty program at the till.\n"
                f"Open this link to become a member:\n\n{url}\n"
            ),
            from_email=None,
            recipient_list=[invitation.email],
        )

    transaction.on_commit(send)
