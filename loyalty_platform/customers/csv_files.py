"""Customer CSV files: the export (streamed in chunks) and the import (this module's parser and
the all-or-nothing service that previews or applies it, `customers_import`).

The file's problems as a whole (too large, not UTF-8, not CSV, unknown columns, too many
rows) refuse it at once with a code; problems of single rows (a bad email or phone, an email
twice in the file) are listed per line, and those rows are left out of the import."""

import csv
import io
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.core.cache import caches
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.services import audit_record
from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.replica import replica_reads
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import (
    customer_enroll,
    customer_updated_record,
    normalize_email,
    normalize_phone,
)
from tenants.limits import current_organization, plan_limit_reserve

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 10_000
IMPORT_COLUMNS = ("email", "name", "phone", "consent_marketing")
# Columns of the customer export that an import reads past, so an export can come back in.
EXPORT_ONLY_COLUMNS = ("customer_code", "status", "created_at")
MAX_CELL = 300
_TRUE = {"1", "true", "yes", "y", "ja", "oui", "si"}
_FALSE = {"", "0", "false", "no", "n", "nee", "non"}
_FORMULA_START = ("=", "+", "-", "@")

ROW_ERRORS = {
    "email_required": _("The email is missing."),
    "invalid_email": _("This is not an email address."),
    "phone_invalid": _("The phone is not a phone number (E.164, like +31612345678)."),
    "name_too_long": _("The name is longer than 150 characters."),
    "consent_marketing_invalid": _("consent_marketing is yes or no."),
    "duplicate_email_in_file": _("The same email is on an earlier line of the file."),
    "wrong_column_count": _("The line has more or fewer cells than the header."),
    "customer_erased": _("This customer's data was erased at their request; nothing is written back."),
}


def _cell(value: str) -> str:
    value = value.strip()[:MAX_CELL]
    # The export quotes cells that a spreadsheet would run as formulas; take the quote off.
    if value.startswith("'") and value[1:2] in _FORMULA_START:
        return value[1:]
    return value


def parse_csv_rows(
    data: bytes,
    *,
    columns: tuple[str, ...],
    ignored: tuple[str, ...] = (),
    header_check: Callable[[list[str]], None],
    max_bytes: int = MAX_IMPORT_BYTES,
    max_rows: int = MAX_IMPORT_ROWS,
) -> list[dict]:
    """An uploaded CSV's rows as dicts (`line` and `columns`, all text; `ignored` columns are
    read past), or a DomainError (IMPORT_*) for a file that cannot be imported at all.
    `header_check` gets the header's column names and raises when a needed one is missing."""
    if len(data) > max_bytes:
        raise errors.IMPORT_FILE_TOO_LARGE()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise errors.IMPORT_NOT_UTF8() from None
    if "\x00" in text:
        raise errors.IMPORT_MALFORMED(line=text[: text.index("\x00")].count("\n") + 1)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[dict] = []
    try:
        header = next(reader, None)
        if header is None:
            raise errors.IMPORT_EMPTY()
        names = [name.strip().lower().replace(" ", "_") for name in header]
        unknown = [name for name in names if name not in columns + ignored]
        if unknown:
            raise errors.IMPORT_UNKNOWN_COLUMNS(columns=[name[:40] for name in unknown[:10]])
        if len(set(names)) != len(names):
            raise errors.IMPORT_MALFORMED(line=1)
        header_check(names)
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= max_rows:
                raise errors.IMPORT_TOO_MANY_ROWS(max=max_rows)
            row = {"line": reader.line_num, **dict.fromkeys(columns, "")}
            if len(record) != len(names):
                row["error"] = "wrong_column_count"
            for name, value in zip(names, record, strict=False):
                if name in columns:
                    row[name] = _cell(value)
            rows.append(row)
    except csv.Error:
        raise errors.IMPORT_MALFORMED(line=reader.line_num) from None
    if not rows:
        raise errors.IMPORT_EMPTY()
    return rows


def _email_column_check(names: list[str]) -> None:
    if "email" not in names:
        raise errors.IMPORT_EMAIL_COLUMN_REQUIRED()


def parse_customers_csv(data: bytes) -> list[dict]:
    """The customer import's rows (the import columns), or a DomainError for a file that
    cannot be imported at all."""
    return parse_csv_rows(
        data, columns=IMPORT_COLUMNS, ignored=EXPORT_ONLY_COLUMNS, header_check=_email_column_check
    )


@dataclass
class ImportRow:
    line: int
    email: str
    name: str = ""
    phone: str = ""
    consent_marketing: bool = False
    error: str = ""
    changes: dict = field(default_factory=dict)

    @property
    def error_message(self) -> str:
        return str(ROW_ERRORS.get(self.error, self.error))


@dataclass
class ImportReport:
    to_create: list[ImportRow] = field(default_factory=list)
    to_update: list[ImportRow] = field(default_factory=list)
    unchanged: list[ImportRow] = field(default_factory=list)
    errors: list[ImportRow] = field(default_factory=list)
    applied: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.to_create),
            "updated": len(self.to_update),
            "unchanged": len(self.unchanged),
            "errors": len(self.errors),
        }


def _validated(raw: dict, seen: set[str]) -> ImportRow:
    row = ImportRow(line=int(raw.get("line", 0)), email=str(raw.get("email", ""))[:MAX_CELL])
    if raw.get("error"):
        row.error = raw["error"]
        return row
    try:
        row.email = normalize_email(row.email)
        phone = str(raw.get("phone", ""))
        row.phone = normalize_phone(phone) if phone else ""
    except DomainError as error:
        row.error = error.code
        return row
    row.name = str(raw.get("name", "")).strip()
    marketing = str(raw.get("consent_marketing", "")).strip().lower()
    if len(row.name) > 150:
        row.error = "name_too_long"
    elif marketing not in _TRUE | _FALSE:
        row.error = "consent_marketing_invalid"
    elif row.email in seen:
        row.error = "duplicate_email_in_file"
    row.consent_marketing = marketing in _TRUE
    seen.add(row.email)
    return row


def _changes(customer: Customer, row: ImportRow) -> dict:
    """What the row changes: a file's empty cell leaves the customer's value as it is."""
    return {
        name: [getattr(customer, name), getattr(row, name)]
        for name in ("name", "phone")
        if getattr(row, name) and getattr(row, name) != getattr(customer, name)
    }


def _classify(rows: list[dict]) -> tuple[ImportReport, dict[str, Customer]]:
    report, seen = ImportReport(), set()
    checked = [_validated(raw, seen) for raw in rows]
    emails = [row.email for row in checked if not row.error]
    existing = {
        customer.email.lower(): customer
        # Non-empty emails only: the partial unique index on lower(email) serves the look-up.
        for customer in Customer.objects.annotate(lower_email=Lower("email"))
        .filter(lower_email__in=emails)
        .exclude(email="")
    }
    for row in checked:
        if row.error:
            report.errors.append(row)
            continue
        customer = existing.get(row.email)
        if customer is None:
            report.to_create.append(row)
            continue
        if customer.status == Customer.Status.DELETED:
            row.error = "customer_erased"
            report.errors.append(row)
            continue
        row.changes = _changes(customer, row)
        (report.to_update if row.changes else report.unchanged).append(row)
    return report, existing


def _update(customer: Customer, changes: dict) -> None:
    if changes:
        for name, (_old, new) in changes.items():
            setattr(customer, name, new)
        customer.save(update_fields=[*changes, "updated_at"])
        customer_updated_record(customer, changed=list(changes))


def customers_import(rows: list[dict], *, actor: User | None, apply: bool) -> ImportReport:
    """Preview (apply=False: reads only) or apply an import of parsed rows, keyed on the
    email (any case): new emails are enrolled through `customer_enroll`, known ones get the
    file's name and phone where the file gives them; rows with errors are left out. Applying
    is one transaction with one audit record of the counts: all of it, or nothing.

    The staff member confirms that the customers accepted the terms and privacy notice (it
    is how they came to be on the merchant's list); marketing consent is the file's column.
    """
    if not apply:
        return _classify(rows)[0]
    with transaction.atomic():
        report, existing = _classify(rows)
        # An import that does not fit the plan is refused whole: a partial one would leave
        # staff to find out which rows made it.
        plan_limit_reserve(
            organization=current_organization(), limit="customers", adding=len(report.to_create)
        )
        for row in report.to_create:
            customer, created = customer_enroll(
                email=row.email,
                consent_terms=True,
                consent_privacy=True,
                consent_marketing=row.consent_marketing,
                name=row.name,
                phone=row.phone,
                source="import",
            )
            if not created:  # enrolled since the classification: update them instead
                existing[row.email] = customer
                row.changes = _changes(customer, row)
                _update(customer, row.changes)
        for row in report.to_update:
            _update(existing[row.email], row.changes)
        audit_record(
            actor=actor,
            action="customers.import",
            target=None,
            target_type=Customer._meta.label,
            target_repr=f"import of {len(rows)} rows",
            details={"counts": report.counts(), "rows": len(rows)},
        )
        report.applied = True
    return report


EXPORT_COLUMNS = ("customer_code", "email", "name", "phone", "consent_marketing", "status", "created_at")
EXPORT_CHUNK = 2000


class _Line:
    """csv.writer's file: hands back the line it was given."""

    def write(self, value: str) -> str:
        return value


def _spreadsheet_safe(value: str) -> str:
    # A spreadsheet runs a cell that starts like a formula; the quote makes it text.
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def customers_export_csv(*, actor: User | None) -> Iterator[str]:
    """The organization's customers (erased ones left out) as CSV lines, read in chunks of
    EXPORT_CHUNK by primary key, so a large list never sits in memory. The audit record is
    written before the first line (with the count at that moment). Each chunk's query runs
    in the schema of the call, whatever the connection was set to in between."""
    schema = connection.schema_name
    customers = Customer.objects.exclude(status=Customer.Status.DELETED)
    audit_record(
        actor=actor,
        action="customers.export",
        target=None,
        target_type=Customer._meta.label,
        target_repr="customer list",
        details={"count": customers.count()},
    )
    return _export_lines(schema, customers)


def _export_lines(schema: str, customers) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(EXPORT_COLUMNS)
    last = 0
    while True:
        # A response's generator runs after the view: the replica is chosen here, per chunk.
        with schema_context(schema), replica_reads():
            chunk = list(customers.filter(pk__gt=last).order_by("pk")[:EXPORT_CHUNK])
        if not chunk:
            return
        for c in chunk:
            yield writer.writerow(
                [
                    c.customer_code,
                    _spreadsheet_safe(c.email),
                    _spreadsheet_safe(c.name),
                    c.phone,
                    "yes" if c.consent_marketing_at else "no",
                    c.status,
                    c.created_at.isoformat(),
                ]
            )
        last = chunk[-1].pk


# --- From the preview to the confirmation -------------------------------------------------------
# The parsed rows wait in the cache under a random token, in a key that carries the schema
# (and the cache's key function adds it again), bound to the staff member who uploaded them:
# the confirmation re-runs the import on these rows, never on anything the browser posts back.

PREVIEW_SECONDS = 30 * 60


def _preview_key(token: str, purpose: str) -> str:
    return f"{purpose}:import:{connection.schema_name}:{token}"


def import_preview_store(rows: list[dict], *, user: User, purpose: str = "customers") -> str:
    """`purpose` keeps the previews of different imports apart (a token of one import is
    unknown to another)."""
    token = secrets.token_urlsafe(24)
    caches["default"].set(
        _preview_key(token, purpose),
        {"schema": connection.schema_name, "user": user.pk, "rows": rows},
        PREVIEW_SECONDS,
    )
    return token


def import_preview_load(token: str, *, user: User, purpose: str = "customers") -> list[dict]:
    """The rows stored under the token, or import_token_invalid when it expired, was used,
    or belongs to another organization or staff member."""
    if (
        not isinstance(token, str)
        or not 16 <= len(token) <= 64
        or not token.replace("-", "").replace("_", "").isalnum()
    ):
        raise errors.IMPORT_TOKEN_INVALID()
    stored = caches["default"].get(_preview_key(token, purpose))
    if not stored or stored.get("schema") != connection.schema_name or stored.get("user") != user.pk:
        raise errors.IMPORT_TOKEN_INVALID()
    return stored["rows"]


def import_preview_drop(token: str, *, purpose: str = "customers") -> None:
    caches["default"].delete(_preview_key(token, purpose))
