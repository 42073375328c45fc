"""The Shop API's cards paths."""

urlpatterns: list = []
