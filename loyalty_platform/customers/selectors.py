from django.db import connection

from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card

_CUSTOMER_FIELDS = [field.attname for field in Customer._meta.concrete_fields]
# Every POS call naming a customer runs this: written once, not compiled by the ORM per call.
_CUSTOMER_COLUMNS = ", ".join(f'"{field.column}"' for field in Customer._meta.concrete_fields)
_CUSTOMER_BY_CODE_SQL = (
    f"SELECT {_CUSTOMER_COLUMNS} FROM {Customer._meta.db_table} "  # noqa: S608
    "WHERE customer_code = %s AND status <> %s"
)


def masked_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


# The same look-up as a LEFT JOIN for another statement to carry (pos_api.idempotency):
# its columns, prefixed, and the join with two parameters (the code, the deleted status).
CUSTOMER_JOIN_COLUMNS = ", ".join(f'c."{field.column}"' for field in Customer._meta.concrete_fields)
CUSTOMER_BY_CODE_JOIN = f"LEFT JOIN {Customer._meta.db_table} AS c ON c.customer_code = %s AND c.status <> %s"


_DELETED = Customer.Status.DELETED.value  # read once: an enum member's value is a slow property


def customer_join_parameters(customer_code: int) -> list:
    return [customer_code, _DELETED]


def customer_from_join(values) -> Customer | None:
    """The customer of a CUSTOMER_BY_CODE_JOIN row's columns, None when the join found none."""
    return None if values[0] is None else Customer.from_db(connection.alias, _CUSTOMER_FIELDS, values)


def customer_by_code(customer_code: int) -> Customer | None:
    with connection.prepared_cursor() as cursor:
        cursor.execute(_CUSTOMER_BY_CODE_SQL, customer_join_parameters(customer_code))
        row = cursor.fetchone()  # customer_code is unique
    return None if row is None else Customer.from_db(connection.alias, _CUSTOMER_FIELDS, row)


def customer_by_email(email: str) -> Customer | None:
    return (
        Customer.objects.filter(email__iexact=email.strip()).exclude(status=Customer.Status.DELETED).first()
    )


def customer_by_phone(phone: str) -> Customer | None:
    return Customer.objects.filter(phone=phone).exclude(status=Customer.Status.DELETED).order_by("pk").first()


def customer_by_card_number(card_number: str) -> Customer | None:
    card = Card.objects.select_related("customer").filter(card_number=card_number.strip()).first()
    if card is None or card.customer.status == Customer.Status.DELETED:
        return None
    return card.customer
