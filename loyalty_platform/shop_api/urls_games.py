"""The Shop API's games paths: stamp programs as stamp_card games (games_views)."""

from django.urls import path

from loyalty_platform.shop_api import games_views as games

urlpatterns = [
    path("games", games.GamesView.as_view(), name="shop-games"),
    path("games/<str:game_id>", games.GameDetailView.as_view(), name="shop-game"),
    path("games/<str:game_id>/progress", games.GameProgressView.as_view(), name="shop-game-progress"),
    path("games/<str:game_id>/add-stamps", games.AddStampsView.as_view(), name="shop-game-add-stamps"),
    path("games/<str:game_id>/complete", games.CompleteView.as_view(), name="shop-game-complete"),
    path("games/<str:game_id>/restart", games.RestartView.as_view(), name="shop-game-restart"),
    path("cards/<str:card_id>/games", games.CardGamesView.as_view(), name="shop-card-games"),
    path(
        "cards/<str:card_id>/games/history",
        games.CardGamesHistoryView.as_view(),
        name="shop-card-games-history",
    ),
]
