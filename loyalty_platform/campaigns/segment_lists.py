"""A segment's static list, imported from a CSV file with an `email` or a `customer_code`
column (the customer export's other columns are read past). The file goes through the
customer import's parser (customers.csv_files), so its refusals are the same IMPORT_* codes.

Each row names one customer of this organization: by its customer code when the row has
one, else by its email (any case). Rows that name nobody here (another organization's
customers included), erased customers, or a customer named twice are counted, not added.
"Replace" makes the list exactly the file's customers; "add" keeps the list and adds them."""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models.functions import Lower

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.services import audit_record
from loyalty_platform.campaigns.models import Segment, SegmentListMember
from loyalty_platform.core import errors
from loyalty_platform.core.text import ascii_digits
from loyalty_platform.customers.csv_files import EXPORT_COLUMNS, parse_csv_rows
from loyalty_platform.customers.models import Customer

LIST_COLUMNS = ("email", "customer_code")
MAX_LIST_BYTES = 4 * 1024 * 1024
MAX_LIST_ROWS = 100_000
PREVIEW_PURPOSE = "segment-list"


class Mode:
    REPLACE = "replace"
    ADD = "add"
    CHOICES = (REPLACE, ADD)


def _key_column_check(names: list[str]) -> None:
    if not set(LIST_COLUMNS) & set(names):
        raise errors.SEGMENT_LIST_COLUMN_REQUIRED()


def parse_segment_list_csv(data: bytes) -> list[dict]:
    return parse_csv_rows(
        data,
        columns=LIST_COLUMNS,
        ignored=tuple(name for name in EXPORT_COLUMNS if name not in LIST_COLUMNS),
        header_check=_key_column_check,
        max_bytes=MAX_LIST_BYTES,
        max_rows=MAX_LIST_ROWS,
    )


@dataclass
class ListReport:
    matched: int = 0
    unmatched: int = 0
    duplicates: int = 0
    already_listed: int = 0
    to_remove: int = 0
    unmatched_lines: list[int] = field(default_factory=list)
    applied: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "matched": self.matched,
            "unmatched": self.unmatched,
            "duplicates": self.duplicates,
            "already_listed": self.already_listed,
            "to_remove": self.to_remove,
        }


UNMATCHED_LINES_KEPT = 50
_CHUNK = 5000


def _matched_ids(rows: list[dict], report: ListReport) -> list[int]:
    codes = {int(row["customer_code"]) for row in rows if ascii_digits(row.get("customer_code", ""))}
    emails = {row["email"].lower() for row in rows if not row.get("customer_code") and row.get("email")}
    alive = Customer.objects.exclude(status=Customer.Status.DELETED)
    by_code = dict(
        alive.filter(customer_code__in=[code for code in codes if code < 2**31]).values_list(
            "customer_code", "pk"
        )
    )
    by_email = dict(
        alive.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=emails)
        .values_list("email_lower", "pk")
    )
    found: list[int] = []
    seen: set[int] = set()
    for row in rows:
        code, email = row.get("customer_code", ""), row.get("email", "").lower()
        pk = None
        if not row.get("error"):
            pk = by_code.get(int(code)) if ascii_digits(code) else (None if code else by_email.get(email))
        if pk is None:
            report.unmatched += 1
            if len(report.unmatched_lines) < UNMATCHED_LINES_KEPT:
                report.unmatched_lines.append(int(row["line"]))
        elif pk in seen:
            report.duplicates += 1
        else:
            seen.add(pk)
            found.append(pk)
    report.matched = len(found)
    return found


def segment_list_import(
    *, segment: Segment, rows: list[dict], mode: str, apply: bool, actor: User | None
) -> ListReport:
    """Preview (apply=False: reads only) or apply the rows to the segment's list, in one
    transaction with one audit record of the counts."""
    if mode not in Mode.CHOICES:
        raise errors.SEGMENT_LIST_MODE_INVALID()
    report = ListReport()
    with transaction.atomic():
        ids = _matched_ids(rows, report)
        listed = set(SegmentListMember.objects.filter(segment=segment).values_list("customer_id", flat=True))
        report.already_listed = len(listed.intersection(ids))
        removed = sorted(listed.difference(ids)) if mode == Mode.REPLACE else []
        report.to_remove = len(removed)
        if not apply:
            return report
        for start in range(0, len(removed), _CHUNK):
            SegmentListMember.objects.filter(
                segment=segment, customer_id__in=removed[start : start + _CHUNK]
            ).delete()
        SegmentListMember.objects.bulk_create(
            [SegmentListMember(segment=segment, customer_id=pk) for pk in ids if pk not in listed],
            ignore_conflicts=True,
            batch_size=_CHUNK,
        )
        audit_record(
            actor=actor,
            action="campaigns.segment_list_import",
            target=segment,
            details={"mode": mode, "rows": len(rows), "counts": report.counts()},
        )
        report.applied = True
    return report
