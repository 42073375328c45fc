from django.core.mail import send_mail
from django.db import connection

from loyalty_platform.core.faults import task_send_on_commit
from loyalty_platform.core.text import header_safe
from loyalty_platform.identification.models import Invitation


def invitation_email_send_on_commit(*, invitation_id: str, url: str) -> None:
    """Mail the invitation by a Celery task once committed: an SMTP outage then delays the
    email (the task retries) instead of failing the till's call after it committed."""
    # A cycle: tasks import this module for invitation_email_send.
    from loyalty_platform.identification.tasks import send_invitation_email

    task_send_on_commit(send_invitation_email, (str(invitation_id), url))


def invitation_email_send(*, invitation_id: str, url: str) -> None:
    organization = connection.tenant
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
