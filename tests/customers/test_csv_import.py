"""The customer CSV import: files refused as a whole, per-row errors, a preview that writes
nothing, an all-or-nothing apply through the enrolment service, and no duplicate on a second
import of the same file."""

import pytest

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.csv_files import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    customers_export_csv,
    customers_import,
    parse_customers_csv,
)
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_erase
from tests.pos_fixtures import create_customer

GOOD_AND_BAD = (
    b"email,name,phone,consent_marketing\n"
    b"new@example.com,New One,+31 6 1111 2222,yes\n"
    b"Known@Example.com,Known Renamed,,\n"
    b"same@example.com,Same,,no\n"
    b"not-an-email,Bad,,\n"
    b"phone@example.com,Bad Phone,12,\n"
    b"NEW@example.com,Twice,,\n"
    b"short@example.com,Short\n"
    b"\n"
    b"ok@example.com,,,\n"
)


@pytest.fixture
def actor(in_organization) -> User:
    return User.objects.create_user("importer@example.com", "pw", is_staff=True)


@pytest.fixture
def existing(organization, in_organization):
    known = create_customer(organization, email="known@example.com")
    same = create_customer(organization, email="same@example.com")
    Customer.objects.filter(pk=same.pk).update(name="Same")
    return known, same


def table() -> list[tuple]:
    return list(Customer.objects.order_by("pk").values_list("email", "name", "phone", "status"))


@pytest.mark.parametrize(
    ("data", "code", "extra"),
    [
        (b"", "import_empty", {}),
        (b"email,name\n", "import_empty", {}),
        ("email\nanna@exämple.com\n".encode("latin-1"), "import_not_utf8", {}),
        (
            b"email,name,loyalty_tier\na@example.com,A,gold\n",
            "import_unknown_columns",
            {"columns": ["loyalty_tier"]},
        ),
        (b"name,phone\nA,+31612345678\n", "import_email_column_required", {}),
        (b"email,email\na@example.com,b@example.com\n", "import_malformed", {"line": 1}),
        (b'email,name\na@example.com,"unterminated\n', "import_malformed", {"line": 2}),
        (b"email,name\na@example.com,A\x00\n", "import_malformed", {"line": 2}),
        (b"email\n" + b"x" * (MAX_IMPORT_BYTES + 1), "import_file_too_large", {}),
        (
            b"email\n" + b"".join(b"c%d@example.com\n" % n for n in range(MAX_IMPORT_ROWS + 1)),
            "import_too_many_rows",
            {"max": MAX_IMPORT_ROWS},
        ),
    ],
    ids=[
        "no-header",
        "no-rows",
        "latin-1",
        "unknown-column",
        "no-email",
        "twice",
        "quote",
        "nul",
        "large",
        "rows",
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_with_a_code(data, code, extra):
    with pytest.raises(DomainError) as refused:
        parse_customers_csv(data)
    assert (refused.value.code, refused.value.extra) == (code, extra)


def test_a_semicolon_file_with_a_bom_and_spaces_in_the_header_is_read():
    rows = parse_customers_csv("\ufeffEmail ; Name\nA@example.com;Ann\n".encode())
    assert rows == [
        {"line": 2, "email": "A@example.com", "name": "Ann", "phone": "", "consent_marketing": ""}
    ]


def test_the_preview_sorts_every_row_and_writes_nothing(existing, actor):
    before = (table(), AuditLogEntry.objects.count())

    report = customers_import(parse_customers_csv(GOOD_AND_BAD), actor=actor, apply=False)

    assert (table(), AuditLogEntry.objects.count()) == before
    assert [(row.line, row.email, row.phone, row.consent_marketing) for row in report.to_create] == [
        (2, "new@example.com", "+31611112222", True),
        (10, "ok@example.com", "", False),
    ]
    assert [(row.line, row.changes) for row in report.to_update] == [
        (3, {"name": ["", "Known Renamed"]}),
    ]
    assert [row.line for row in report.unchanged] == [4]
    assert [(row.line, row.error) for row in report.errors] == [
        (5, "invalid_email"),
        (6, "phone_invalid"),
        (7, "duplicate_email_in_file"),
        (8, "wrong_column_count"),
    ]
    assert (report.counts(), report.applied) == (
        {"created": 2, "updated": 1, "unchanged": 1, "errors": 4},
        False,
    )


def test_apply_enrolls_updates_audits_once_and_a_second_import_duplicates_nothing(existing, actor):
    rows = parse_customers_csv(GOOD_AND_BAD)

    report = customers_import(rows, actor=actor, apply=True)

    assert report.applied is True
    new = Customer.objects.get(email="new@example.com")
    assert (new.name, new.phone, new.status, 100000 <= new.customer_code <= 999999) == (
        "New One",
        "+31611112222",
        "active",
        True,
    )
    assert new.consent_terms_at is not None and new.consent_marketing_at is not None
    assert Customer.objects.get(email="ok@example.com").consent_marketing_at is None
    assert Customer.objects.get(email="known@example.com").name == "Known Renamed"
    assert Customer.objects.count() == 4
    (audit,) = AuditLogEntry.objects.all()
    assert (audit.actor, audit.action, audit.target_type, audit.details) == (
        actor,
        "customers.import",
        "customers.Customer",
        {"counts": {"created": 2, "updated": 1, "unchanged": 1, "errors": 4}, "rows": 8},
    )
    after_first = table()

    again = customers_import(rows, actor=actor, apply=True)

    assert again.counts() == {"created": 0, "updated": 0, "unchanged": 4, "errors": 4}
    assert table() == after_first


def test_a_failure_while_applying_leaves_nothing_behind(existing, actor):
    before = (table(), AuditLogEntry.objects.count())
    ghost = User(email="not-saved@example.com")  # the audit record, written last, cannot refer to it

    with pytest.raises(ValueError):
        customers_import(parse_customers_csv(GOOD_AND_BAD), actor=ghost, apply=True)

    assert (table(), AuditLogEntry.objects.count()) == before


def test_the_export_comes_back_in_as_unchanged_rows_and_quotes_formulas(organization, in_organization, actor):
    create_customer(organization, email="=cmd@example.com")
    create_customer(organization, email="plain@example.com")

    lines = list(customers_export_csv(actor=actor))

    assert lines[0] == "customer_code,email,name,phone,consent_marketing,status,created_at\r\n"
    assert [line.split(",")[1] for line in lines[1:]] == ["'=cmd@example.com", "plain@example.com"]
    report = customers_import(parse_customers_csv("".join(lines).encode()), actor=actor, apply=False)
    assert report.counts() == {"created": 0, "updated": 0, "unchanged": 2, "errors": 0}
    assert AuditLogEntry.objects.values_list("action", "details").get() == ("customers.export", {"count": 2})


def test_a_row_for_an_erased_customer_writes_nothing_back(organization, programs, actor):
    customer = create_customer(organization, email="gone@example.com")
    customer_erase(customer=customer, actor=actor, reason="asked")
    customer.refresh_from_db()

    report = customers_import(
        parse_customers_csv(f"email,name,phone\n{customer.email},Back Again,+31612345678\n".encode()),
        actor=actor,
        apply=True,
    )

    assert [(row.email, row.error) for row in report.errors] == [(customer.email, "customer_erased")]
    customer.refresh_from_db()
    assert (customer.name, customer.phone) == ("", "")
