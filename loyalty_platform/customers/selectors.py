from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card


def masked_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def customer_by_code(customer_code: int) -> Customer | None:
    # customer_code is unique, so no ORDER BY: first() would add one, which takes Django
    # longer to compile than the whole query takes to run.
    customers = Customer.objects.filter(customer_code=customer_code).exclude(status=Customer.Status.DELETED)
    return next(iter(customers[:1]), None)


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
