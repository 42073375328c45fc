"""The Shop API's coupons paths."""

urlpatterns: list = []
