from django.db import transaction

from loyalty_platform.shops.models import Shop
from tenants.limits import current_organization, plan_limit_reserve


@transaction.atomic
def shop_create(*, name: str, address: str = "", is_active: bool = True) -> Shop:
    """A new shop of the organization whose schema is in use, within its plan's limit."""
    plan_limit_reserve(organization=current_organization(), limit="shops")
    return Shop.objects.create(name=name, address=address, is_active=is_active)
