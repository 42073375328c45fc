"""Which language a customer's email is written in (decision 0058): the customer's own choice
(Customer.language), else the organization's (Organization.language), else English. Someone
who is not a customer yet (an invitation to an address) gets the organization's."""

from django.db import connection

from loyalty_platform.core.mail import email_language
from loyalty_platform.customers.models import Customer


def customer_email_language(customer: Customer | None) -> str:
    return email_language(customer.language if customer is not None else None, connection.tenant.language)
