from datetime import UTC, datetime, timedelta

import pytest

from loyalty_platform.core.errors import DomainError
from loyalty_platform.verification.services import customer_code_from_qr, customer_qr_payload
from tests.pos_fixtures import create_customer

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def _code(organization, payload, now):
    return customer_code_from_qr(organization=organization, payload=payload, now=now)


def test_static_qr_is_valid_for_24_hours(organization, programs):
    customer = create_customer(organization)
    qr = customer_qr_payload(organization=organization, customer=customer, now=NOW)

    assert qr.expires_at == NOW + timedelta(hours=24)
    assert _code(organization, qr.payload, NOW + timedelta(hours=23, minutes=59)) == customer.customer_code
    with pytest.raises(DomainError, match="invalid_qr"):
        _code(organization, qr.payload, NOW + timedelta(hours=24))


def test_strict_qr_rotates_every_30_seconds_with_one_step_of_tolerance(organization, programs):
    organization.verification_preset = "strict"
    customer = create_customer(organization)
    qr = customer_qr_payload(organization=organization, customer=customer, now=NOW)

    assert qr.expires_at == NOW + timedelta(seconds=30)
    assert _code(organization, qr.payload, NOW + timedelta(seconds=59)) == customer.customer_code
    with pytest.raises(DomainError, match="invalid_qr"):
        _code(organization, qr.payload, NOW + timedelta(seconds=60))
    assert customer_qr_payload(
        organization=organization, customer=customer, now=NOW + timedelta(seconds=30)
    ).payload != (qr.payload)


def test_strict_organization_refuses_static_payloads(organization, programs):
    customer = create_customer(organization)
    static = customer_qr_payload(organization=organization, customer=customer, now=NOW).payload
    organization.verification_preset = "strict"

    with pytest.raises(DomainError, match="invalid_qr"):
        _code(organization, static, NOW)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"),
        lambda p: p.replace(p.split(".")[1], "999999"),
        lambda p: p.replace(p.split(".")[2], str(int(p.split(".")[2]) + 3600)),
        lambda p: p + ".extra",
        lambda p: "",
        lambda p: "garbage",
    ],
)
def test_tampered_payloads_are_refused(organization, programs, mutate):
    customer = create_customer(organization)
    payload = customer_qr_payload(organization=organization, customer=customer, now=NOW).payload

    with pytest.raises(DomainError, match="invalid_qr"):
        _code(organization, mutate(payload), NOW)


def test_payload_of_another_organization_is_refused(organization, other_organization, programs):
    customer = create_customer(organization)
    payload = customer_qr_payload(organization=organization, customer=customer, now=NOW).payload

    with pytest.raises(DomainError, match="invalid_qr"):
        _code(other_organization, payload, NOW)
