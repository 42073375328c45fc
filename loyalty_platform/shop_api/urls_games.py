"""The Shop API's games paths."""

urlpatterns: list = []
