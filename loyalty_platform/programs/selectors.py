from loyalty_platform.core.schema_cache import schema_cached
from loyalty_platform.programs.models import Card, Program

ACTIVE_PROGRAMS_CACHE_KEY = "programs:active"


def active_programs() -> dict[str, Program]:
    """The organization's active programs by kind, cached per schema (read-only: the objects
    are shared by the process's threads); programs.signals forgets them when a program
    changes."""
    return schema_cached(
        ACTIVE_PROGRAMS_CACHE_KEY,
        lambda: {program.kind: program for program in Program.objects.filter(is_active=True)},
    )


def active_program(kind: str) -> Program | None:
    return active_programs().get(kind)


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


def card_balance_and_status(*, customer_id: int, program: Program) -> tuple[int, str | None]:
    """A plain read (no lock) of the customer's card in the program: its balance and status,
    (0, None) without a card."""
    card = Card.objects.filter(customer_id=customer_id, program=program)
    return card.values_list("balance", "status").first() or (0, None)
