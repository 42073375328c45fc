"""The welcome email of a customer enrolled at a till with their email (they consented to the
terms there): a sign-in link to their profile, in plain text and HTML."""

from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.utils.translation import gettext

from loyalty_platform.core.faults import task_send_on_commit
from loyalty_platform.core.mail import email_build
from loyalty_platform.customers.login import LINK_MINUTES, login_link_create, organization_url
from loyalty_platform.customers.mail import customer_email_language
from loyalty_platform.customers.models import Customer


def welcome_email_send_on_commit(*, customer_id: int) -> None:
    """Mail the welcome by a Celery task once the enrollment committed (nothing when it rolls
    back). The task makes the sign-in link itself, so its token never waits in the broker."""
    # A cycle: tasks import this module for welcome_email_send.
    from loyalty_platform.customers.tasks import send_welcome_email

    task_send_on_commit(send_welcome_email, (customer_id,))


def welcome_email(*, customer: Customer) -> EmailMultiAlternatives:
    """The message in the customer's language (customer_email_language)."""
    organization = connection.tenant
    return email_build(
        language=customer_email_language(customer),
        template="emails/welcome",
        subject=lambda: (
            gettext("Welcome to %(organization)s's loyalty program") % {"organization": organization.name}
        ),
        context={
            "customer": customer,
            "url": login_link_create(customer=customer),
            "minutes": LINK_MINUTES,
            "terms_url": organization_url("/terms"),
            "privacy_url": organization_url("/privacy"),
        },
        to=[customer.email],
        organization=organization,
    )


def welcome_email_send(*, customer_id: int) -> bool:
    """Send the welcome, in the customer's language (else the organization's); False when
    the customer can no longer sign in (blocked, erased or without an email since)."""
    customer = (
        Customer.objects.filter(pk=customer_id, status=Customer.Status.ACTIVE).exclude(email="").first()
    )
    if customer is None:
        return False
    welcome_email(customer=customer).send()
    return True
