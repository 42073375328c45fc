"""A segment's static list from a CSV file: preview counts, replace and add, customer codes,
another organization's emails never matched, and every bad file refused with its code and
nothing changed."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.roles import MARKETING
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.campaigns.models import Segment, SegmentListMember, SegmentRule
from loyalty_platform.campaigns.segment_lists import MAX_LIST_BYTES
from loyalty_platform.customers.models import Customer
from tests.campaigns.segments_fixtures import customer, members
from tests.campaigns.test_segments_admin import SEGMENTS, login


def upload(data: str | bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "list.csv", data.encode() if isinstance(data, str) else data, content_type="text/csv"
    )


@pytest.fixture
def listed(organization, other_organization):
    """Organization A: ann, bob, cyd (erased: never matched); B: only@b.io. A segment with a
    static-list rule whose list holds bob."""
    with tenant_context(other_organization):
        customer("only@b.io")
    with tenant_context(organization):
        ann, bob = customer("ann@x.io"), customer("bob@x.io")
        customer("cyd@x.io", status=Customer.Status.DELETED)
        segment = Segment.objects.create(name="VIPs")
        SegmentRule.objects.create(segment=segment, kind=SegmentRule.Kind.STATIC_LIST)
        SegmentListMember.objects.create(segment=segment, customer=bob)
    return segment, ann, bob


def state(organization, segment) -> tuple:
    with tenant_context(organization):
        return (
            sorted(
                SegmentListMember.objects.filter(segment=segment).values_list("customer__email", flat=True)
            ),
            list(AuditLogEntry.objects.values_list("action", "details")),
        )


def preview(client, segment, data, mode="replace"):
    return client.post(f"{SEGMENTS}{segment.pk}/list/import/", {"file": upload(data), "mode": mode})


def test_replace_previews_the_counts_then_makes_the_list_the_files_customers(client_a, organization, listed):
    segment, _ann, _bob = listed
    login(client_a, organization, MARKETING)
    data = "email\r\nANN@x.io\r\nann@x.io\r\nonly@b.io\r\ncyd@x.io\r\nnot-an-email\r\n"
    before = state(organization, segment)

    response = preview(client_a, segment, data)

    assert response.status_code == 200
    counts = {"matched": 1, "unmatched": 3, "duplicates": 1, "already_listed": 0, "to_remove": 1}
    assert response.context["counts"] == counts
    assert response.context["report"].unmatched_lines == [4, 5, 6]
    assert 'data-matched="1"' in response.content.decode()
    assert state(organization, segment) == before  # a preview changes nothing
    confirm = client_a.post(
        f"{SEGMENTS}{segment.pk}/list/import/confirm/",
        {"token": response.context["token"], "mode": "replace"},
    )
    assert confirm.status_code == 302
    assert state(organization, segment) == (
        ["ann@x.io"],
        [("campaigns.segment_list_import", {"mode": "replace", "rows": 5, "counts": counts})],
    )
    with tenant_context(organization):
        assert members(segment) == {"ann@x.io"}
    # The token is spent.
    again = client_a.post(
        f"{SEGMENTS}{segment.pk}/list/import/confirm/",
        {"token": response.context["token"], "mode": "replace"},
    )
    assert (again.status_code, again.context["error_code"]) == (400, "import_token_invalid")


def test_add_keeps_the_list_and_customer_codes_match_before_emails(client_a, organization, listed):
    segment, ann, _bob = listed
    login(client_a, organization, MARKETING)
    data = f"customer_code;email;name\n{ann.customer_code};someone-else@x.io;Ann\n999999999999;;\n"
    response = preview(client_a, segment, data, mode="add")
    assert response.context["counts"] == {
        "matched": 1,
        "unmatched": 1,
        "duplicates": 0,
        "already_listed": 0,
        "to_remove": 0,
    }
    client_a.post(
        f"{SEGMENTS}{segment.pk}/list/import/confirm/", {"token": response.context["token"], "mode": "add"}
    )
    assert state(organization, segment)[0] == ["ann@x.io", "bob@x.io"]


def test_a_customer_code_of_other_digits_than_0_to_9_matches_nobody(client_a, organization, listed):
    """ "²" and "৩" pass str.isdigit() but int() refuses or misreads them: it was a 500."""
    segment, _ann, _bob = listed
    login(client_a, organization, MARKETING)
    before = state(organization, segment)
    response = preview(client_a, segment, "customer_code\n²\n৩৩৩৩৩৩\n")
    assert response.status_code == 200
    assert (response.context["counts"]["matched"], response.context["counts"]["unmatched"]) == (0, 2)
    assert state(organization, segment) == before


def test_a_customer_export_file_imports_as_it_is(client_a, organization, listed):
    segment, ann, _bob = listed
    login(client_a, organization, MARKETING)
    data = (
        "customer_code,email,name,phone,consent_marketing,status,created_at\n"
        f"{ann.customer_code},ann@x.io,,,no,active,2026-01-01T00:00:00+00:00\n"
    )
    assert preview(client_a, segment, data).context["counts"]["matched"] == 1


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ("email\nann@x.io\n".encode("utf-16"), 400, "import_not_utf8"),
        ("email\nJosé@x.io\n".encode("latin-1"), 400, "import_not_utf8"),
        ("email,points\nann@x.io,5\n", 400, "import_unknown_columns"),
        ("name\nAnn\n", 400, "segment_list_column_required"),
        ("email\n", 400, "import_empty"),
        ("", 422, "form_invalid"),  # Django refuses an empty upload itself
        ('email\n"ann@x.io\n', 400, "import_malformed"),
        (b"email\nann@x.io\x00\n", 400, "import_malformed"),
        (b"email\n" + b"a" * MAX_LIST_BYTES, 413, "import_file_too_large"),
    ],
)
def test_a_bad_file_gets_the_forms_error_and_changes_nothing(
    client_a, organization, listed, data, status, code
):
    segment, _ann, _bob = listed
    login(client_a, organization, MARKETING)
    before = state(organization, segment)
    response = preview(client_a, segment, data)
    assert (response.status_code, response.context["error_code"]) == (status, code)
    assert f'data-error="{code}"' in response.content.decode()
    assert state(organization, segment) == before


def test_no_file_or_a_bad_mode_is_the_form_error(client_a, organization, listed):
    segment, _ann, _bob = listed
    login(client_a, organization, MARKETING)
    before = state(organization, segment)
    no_file = client_a.post(f"{SEGMENTS}{segment.pk}/list/import/", {"mode": "replace"})
    bad_mode = client_a.post(
        f"{SEGMENTS}{segment.pk}/list/import/", {"file": upload("email\na@x.io\n"), "mode": "x"}
    )
    for response in (no_file, bad_mode):
        assert (response.status_code, response.context["error_code"]) == (422, "form_invalid")
    confirm = client_a.post(
        f"{SEGMENTS}{segment.pk}/list/import/confirm/", {"token": "y" * 32, "mode": "add"}
    )
    assert (confirm.status_code, confirm.context["error_code"]) == (400, "import_token_invalid")
    assert state(organization, segment) == before


def test_a_preview_token_serves_only_its_segment(client_a, organization, listed):
    segment, _ann, _bob = listed
    login(client_a, organization, MARKETING)
    with tenant_context(organization):
        other = Segment.objects.create(name="Other")
    token = preview(client_a, segment, "email\nann@x.io\n").context["token"]
    response = client_a.post(
        f"{SEGMENTS}{other.pk}/list/import/confirm/", {"token": token, "mode": "replace"}
    )
    assert (response.status_code, response.context["error_code"]) == (400, "import_token_invalid")
    assert state(organization, other)[0] == []


def test_the_list_page_shows_the_members(client_a, organization, listed):
    segment, _ann, _bob = listed
    login(client_a, organization, MARKETING)
    response = client_a.get(f"{SEGMENTS}{segment.pk}/list/")
    assert response.status_code == 200
    assert response.context["count"] == 1 and "bob@x.io" in response.content.decode()
