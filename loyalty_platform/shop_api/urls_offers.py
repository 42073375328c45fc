"""The Shop API's offers paths: the organization's promotions, and its product categories."""

from django.urls import path

from loyalty_platform.shop_api import offers_views as offers

urlpatterns = [
    path("offers", offers.OffersView.as_view(), name="shop-offers"),
    path("offers/<str:offer_id>", offers.OfferView.as_view(), name="shop-offer"),
    path("products/categories", offers.CategoriesView.as_view(), name="shop-products-categories"),
]
