from loyalty_platform.shops.models import Shop


def shop_create(*, name: str, address: str = "") -> Shop:
    return Shop.objects.create(name=name, address=address)
