"""The Shop API's auth paths."""

urlpatterns: list = []
