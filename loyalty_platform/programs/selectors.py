from django.core.cache import cache

from loyalty_platform.programs.models import Card, Program

_PROGRAM_CACHE_SECONDS = 300


def active_program_cache_key(kind: str) -> str:
    return f"program:active:{kind}"


def active_program(kind: str) -> Program | None:
    """The organization's active program of a kind, cached per schema (the default cache's
    key function adds the schema); programs.signals forgets it when a program changes."""
    key = active_program_cache_key(kind)
    cached = cache.get(key)
    if cached is None:
        program = Program.objects.filter(kind=kind, is_active=True).first()
        cache.set(key, program or False, _PROGRAM_CACHE_SECONDS)
        return program
    return cached or None


def active_programs() -> dict[str, Program]:
    programs = {}
    for kind in Program.Kind.values:
        program = active_program(kind)
        if program is not None:
            programs[kind] = program
    return programs


def card_balances(customer_id: int) -> dict[str, int]:
    """Balances of the customer's cards in the active programs, by kind (0 without a card)."""
    programs = active_programs()
    balances = dict.fromkeys(programs, 0)
    by_program = {program.pk: kind for kind, program in programs.items()}
    for program_id, balance in Card.objects.filter(
        customer_id=customer_id, program_id__in=list(by_program)
    ).values_list("program_id", "balance"):
        balances[by_program[program_id]] = balance
    return balances


def points_value(program: Program, points: int):
    """What a number of points is worth in money when redeemed."""
    from decimal import Decimal

    if not program.redeem_points_per_unit:
        return Decimal("0.00")
    return (Decimal(points) / Decimal(program.redeem_points_per_unit)).quantize(Decimal("0.01"))
