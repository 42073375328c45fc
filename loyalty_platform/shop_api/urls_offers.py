"""The Shop API's offers paths."""

urlpatterns: list = []
