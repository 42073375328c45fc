"""The error catalog: one typed definition per code, the contract's statuses, and no code
raised anywhere that the catalog does not define."""

import re
from pathlib import Path

import pytest
from django.utils import translation

from loyalty_platform.core import errors
from loyalty_platform.core.errors import CATALOG, DomainError

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT.parent / "shared" / "contracts"
SOURCES = [*(ROOT / "loyalty_platform").rglob("*.py"), *(ROOT / "tenants").rglob("*.py")]
CONTRACT_STATUS = re.compile(r'(\d{3}) (?:`?\{"error": "([^"]+)"|`([a-z_]+)`)')
RAISED = re.compile(r"\berrors\.([A-Z][A-Z_]+)\b(\()?")


def test_a_domain_error_needs_a_catalogued_type():
    with pytest.raises(TypeError, match="ErrorType"):
        DomainError("customer_not_found")


def test_a_domain_error_carries_only_the_fields_its_type_declares():
    with pytest.raises(TypeError, match=r"customer_not_found does not carry \['challenge_id'\]"):
        errors.CUSTOMER_NOT_FOUND(challenge_id="x")
    error = errors.PIN_INVALID(challenge_id="c", remaining_attempts=2)
    assert (error.code, error.status, error.extra) == (
        "pin_invalid",
        422,
        {"challenge_id": "c", "remaining_attempts": 2},
    )


def test_field_errors_are_generated_for_unknown_fields_and_keep_catalogued_ones():
    assert errors.field_error("amount", "invalid") is errors.AMOUNT_INVALID
    generated = errors.field_error("ttl", "required")
    assert (generated.code, generated.status) == ("ttl_required", 422)
    assert "ttl_required" not in CATALOG
    with pytest.raises(ValueError):
        errors.field_error("amount", "wrong")


@pytest.mark.skipif(
    not CONTRACTS.exists(), reason="the shared contracts are not checked out beside the repository"
)
def test_every_code_the_contracts_name_is_catalogued_with_the_contracts_status():
    named = {}
    for contract in CONTRACTS.glob("*.md"):
        for status, quoted, backticked in CONTRACT_STATUS.findall(contract.read_text()):
            named[quoted or backticked] = int(status)
    assert len(named) >= 25
    assert {code: CATALOG[code].status for code in named if code in CATALOG} == named


def test_every_error_the_code_raises_is_catalogued():
    undefined = set()
    for source in SOURCES:
        for name, _ in RAISED.findall(source.read_text()):
            if not hasattr(errors, name):
                undefined.add(f"{source.relative_to(ROOT)}: {name}")
    assert undefined == set()


def test_no_code_is_raised_as_a_bare_string():
    bare = re.compile(r"\bDomainError\(\s*[\"f]")
    offenders = [str(source.relative_to(ROOT)) for source in SOURCES if bare.search(source.read_text())]
    assert offenders == []


def test_an_error_is_the_same_key_in_every_language():
    """A dict keyed by errors (profile.views.REWARD_REFUSALS) is built in the language active
    at import; the lookup runs in the page's. The generated hash hashed the translated message,
    so the lookup missed once the import had happened under another language."""
    with translation.override("nb"):
        refusals = {errors.ORGANIZATION_SUSPENDED: "paused"}
    with translation.override("en"):
        assert refusals.get(errors.ORGANIZATION_SUSPENDED) == "paused"
