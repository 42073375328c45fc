from loyalty_platform.core import errors
from loyalty_platform.shops.models import Shop


def open_shop(shop_id: int) -> Shop:
    """The open shop with this id in the organization whose schema is in use; shop_not_found
    for an unknown or closed one, which an integration may not act in."""
    shop = Shop.objects.filter(pk=shop_id, is_active=True).first()
    if shop is None:
        raise errors.SHOP_NOT_FOUND()
    return shop
