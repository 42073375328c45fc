from django.db import connection
from django.utils import translation
from django.utils.translation import gettext

from loyalty_platform.core.faults import task_send_on_commit
from loyalty_platform.core.mail import email_build, email_language
from loyalty_platform.core.sms import send_sms
from loyalty_platform.customers.login import LINK_MINUTES, login_link_create
from loyalty_platform.customers.mail import customer_email_language
from loyalty_platform.customers.models import Customer
from loyalty_platform.identification.models import Invitation
from loyalty_platform.shops.models import Shop


def invitation_email_send_on_commit(*, invitation_id: str, url: str) -> None:
    """Mail the invitation by a Celery task once committed: an SMTP outage then delays the
    email (the task retries) instead of failing the till's call after it committed."""
    # A cycle: tasks import this module for invitation_email_send.
    from loyalty_platform.identification.tasks import send_invitation_email

    task_send_on_commit(send_invitation_email, (str(invitation_id), url))


def invitation_email_send(*, invitation_id: str, url: str) -> None:
    """The invitation, in the organization's language: the person is no customer yet, so
    nobody has chosen another."""
    organization = connection.tenant
    invitation = Invitation.objects.get(pk=invitation_id)
    email_build(
        language=customer_email_language(None),
        template="identification/emails/invitation",
        subject=lambda: (
            gettext("Join %(organization)s's loyalty program") % {"organization": organization.name}
        ),
        context={"url": url},
        to=[invitation.email],
        organization=organization,
    ).send()


def app_link_email_send_on_commit(*, customer_id: int, shop_id: int, language: str) -> None:
    """Mail the profile link by a Celery task once committed. The task makes the sign-in
    link itself, so its token never waits in the broker."""
    # A cycle: tasks import this module for app_link_email_send.
    from loyalty_platform.identification.tasks import send_app_link_email

    task_send_on_commit(send_app_link_email, (customer_id, shop_id, language))


def app_link_sms_send_on_commit(*, customer_id: int, language: str) -> None:
    """Text the profile link to a member without an email, by a Celery task once committed."""
    # A cycle: tasks import this module for app_link_sms_send.
    from loyalty_platform.identification.tasks import send_app_link_sms

    task_send_on_commit(send_app_link_sms, (customer_id, language))


def app_link_sms_send(*, customer_id: int, language: str) -> bool:
    """The sign-in link to the profile, texted; False when the customer can no longer sign in."""
    customer = Customer.objects.filter(pk=customer_id, status=Customer.Status.ACTIVE).first()
    if customer is None or not customer.phone:
        return False
    organization = connection.tenant
    url = login_link_create(customer=customer)
    with translation.override(language):
        text = gettext(
            "%(organization)s: your sign-in link: %(url)s (works once, for %(minutes)s minutes)"
        ) % {
            "organization": organization.name,
            "url": url,
            "minutes": LINK_MINUTES,
        }
    send_sms(customer.phone, text)
    return True


def app_link_email_send(*, customer_id: int, shop_id: int, language: str) -> bool:
    """A sign-in link to the customer's profile, in `language` (the Shop API's path language
    or the one its caller asked for), else the customer's; False when the customer can no
    longer sign in (blocked or gone since)."""
    customer = (
        Customer.objects.filter(pk=customer_id, status=Customer.Status.ACTIVE).exclude(email="").first()
    )
    if customer is None:
        return False
    organization = connection.tenant
    email_build(
        language=email_language(language, customer.language, organization.language),
        template="emails/app_link",
        subject=lambda: (
            gettext("Your %(organization)s loyalty profile") % {"organization": organization.name}
        ),
        context={
            "url": login_link_create(customer=customer),
            "shop": Shop.objects.filter(pk=shop_id).first(),
            "minutes": LINK_MINUTES,
            "customer": customer,
        },
        to=[customer.email],
        organization=organization,
    ).send()
    return True
