"""The POS API, mounted under webhook/ on every host (urls_common)."""

from django.urls import path, re_path

from loyalty_platform.pos_api import campaigns_views as cv
from loyalty_platform.pos_api import identification_views as ident
from loyalty_platform.pos_api import orders_views as ov
from loyalty_platform.pos_api import rewards_views as rw
from loyalty_platform.pos_api import stored_value_views as sv
from loyalty_platform.pos_api import views
from loyalty_platform.pos_api import vouchers_views as vv
from loyalty_platform.pos_api.endpoints import unknown_operation

urlpatterns = [
    path("customer", views.CustomerView.as_view(), name="pos-customer"),
    path("customer/invitations", ident.InvitationsView.as_view(), name="pos-invitations"),
    path(
        "customer/invitations/<str:invitation_id>",
        ident.InvitationView.as_view(),
        name="pos-invitation",
    ),
    path("qr-card-sessions", ident.QrCardSessionsView.as_view(), name="pos-qr-card-sessions"),
    path(
        "qr-card-sessions/<str:session_id>",
        ident.QrCardSessionView.as_view(),
        name="pos-qr-card-session",
    ),
    path("pos", views.EarnView.as_view(), name="pos-earn"),
    path("redeem", views.RedeemView.as_view(), name="pos-redeem"),
    path("coupons/redeem", views.CouponRedeemView.as_view(), name="pos-coupon-redeem"),
    path("customers/<int:customer_code>/rewards", rw.CustomerRewardsView.as_view(), name="pos-rewards"),
    path("customers/<int:customer_code>/wallet", rw.WalletView.as_view(), name="pos-wallet"),
    path("rewards/<int:reward_id>/receptions", rw.ReceptionsView.as_view(), name="pos-receptions"),
    path("reward-receptions/<str:reception_id>/reverse", rw.ReceptionReverseView.as_view()),
    path("reward-receptions/<str:reception_id>/collect", rw.ReceptionCollectView.as_view()),
    path(
        "reward-receptions/<str:reception_id>/reverse-collection",
        rw.ReceptionReverseCollectionView.as_view(),
    ),
    path("vouchers/validate", vv.VoucherValidateView.as_view(), name="pos-voucher-validate"),
    path("vouchers/<str:code>", vv.VoucherView.as_view(), name="pos-voucher"),
    path("vouchers/<str:code>/lock", vv.VoucherLockView.as_view()),
    path("vouchers/<str:code>/release", vv.VoucherReleaseView.as_view()),
    path("vouchers/<str:code>/redeem", vv.VoucherRedeemView.as_view()),
    path("vouchers/<str:code>/reverse", vv.VoucherReverseView.as_view()),
    path("campaigns", cv.CampaignsView.as_view(), name="pos-campaigns"),
    path("orders", ov.OrdersView.as_view(), name="pos-orders"),
    path("orders/preview", ov.OrderPreviewView.as_view(), name="pos-order-preview"),
    path(
        "orders/<path:order_external_id>/returns",
        ov.OrderReturnsView.as_view(),
        name="pos-order-returns",
    ),
    path("giftcards", sv.GiftcardCreateView.as_view(), name="pos-giftcard-create"),
    path("giftcards/<str:code>", sv.GiftcardView.as_view(), name="pos-giftcard"),
    path(
        "giftcards/<str:code>/transactions",
        sv.GiftcardTransactionsView.as_view(),
        name="pos-giftcard-transactions",
    ),
    path(
        "giftcard-transactions/<str:transaction_id>/reverse",
        sv.GiftcardTransactionReverseView.as_view(),
        name="pos-giftcard-transaction-reverse",
    ),
    path("customers/<int:customer_code>/prepaid", sv.PrepaidView.as_view(), name="pos-prepaid"),
    path(
        "customers/<int:customer_code>/prepaid/transactions",
        sv.PrepaidTransactionsView.as_view(),
        name="pos-prepaid-transactions",
    ),
    path(
        "prepaid-transactions/<str:transaction_id>/reverse",
        sv.PrepaidTransactionReverseView.as_view(),
        name="pos-prepaid-transaction-reverse",
    ),
    path(
        "transactions/<path:original_external_id>/reverse",
        views.TransactionReverseView.as_view(),
        name="pos-transaction-reverse",
    ),
    # Anything else under /webhook/ is a machine's mistake: answer it in JSON.
    re_path(r"", unknown_operation),
]
