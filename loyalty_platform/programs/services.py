from decimal import Decimal

from loyalty_platform.programs.models import Program


def point_program_create(
    *,
    name: str,
    earn_points_per_unit: Decimal = Decimal("1"),
    redeem_points_per_unit: int = 100,
    min_redeem_points: int = 0,
) -> Program:
    return Program.objects.create(
        kind=Program.Kind.POINT,
        name=name,
        earn_points_per_unit=earn_points_per_unit,
        redeem_points_per_unit=redeem_points_per_unit,
        min_redeem_points=min_redeem_points,
    )


def stamp_program_create(*, name: str, stamps_per_card: int, reward_name: str) -> Program:
    return Program.objects.create(
        kind=Program.Kind.STAMP,
        name=name,
        stamps_per_card=stamps_per_card,
        reward_name=reward_name,
    )
