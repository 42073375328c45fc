"""The Shop API's cards paths: loyalty cards and point transactions."""

from django.urls import path

from loyalty_platform.shop_api import cards_views as cards

urlpatterns = [
    path("loyalty-cards", cards.LoyaltyCardsView.as_view(), name="shop-loyalty-cards"),
    path("loyalty-cards/info", cards.LoyaltyCardInfoView.as_view(), name="shop-loyalty-card-info"),
    path("loyalty-cards/balance", cards.LoyaltyCardBalanceView.as_view(), name="shop-loyalty-card-balance"),
    path("loyalty-cards/<str:card_id>", cards.LoyaltyCardView.as_view(), name="shop-loyalty-card"),
    path("transactions", cards.TransactionsView.as_view(), name="shop-transactions"),
    path("transactions/create", cards.TransactionCreateView.as_view(), name="shop-transactions-create"),
]
