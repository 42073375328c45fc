"""The customer pages of the merchant admin: search, the customer page and its timeline,
audited blocks, data export and erase, CSV import and export, and what staff without the
permission or from another organization get."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card
from loyalty_platform.stored_value.models import Giftcard
from loyalty_platform.stored_value.services import giftcard_batch_generate
from loyalty_platform.vouchers.models import Promotion, Voucher
from tests.conftest import HostClient
from tests.pos_fixtures import create_customer, create_programs

PASSWORD = "correct horse battery"
CUSTOMERS = "/admin/customers/customer/"


def owner_login(client, organization, email="owner@example.com") -> User:
    with tenant_context(organization):
        user = User.objects.create_superuser(email, PASSWORD)
    assert client.login(email=email, password=PASSWORD)
    return user


def plain_staff_login(client, organization) -> User:
    """Staff with no permission at all (roles give them; here none is given)."""
    with tenant_context(organization):
        user = User.objects.create_user("plain@example.com", PASSWORD, is_staff=True)
    assert client.login(email="plain@example.com", password=PASSWORD)
    return user


def audit(organization) -> list[tuple]:
    with tenant_context(organization):
        return list(
            AuditLogEntry.objects.order_by("pk").values_list("actor__email", "action", "target_id", "details")
        )


def customers(organization) -> list[tuple]:
    with tenant_context(organization):
        return list(Customer.objects.order_by("pk").values_list("email", "name", "phone", "status"))


def csv_file(text: str | bytes, name="customers.csv") -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.fixture
def twins(organization, other_organization, programs):
    """A customer in each organization with the same email and phone."""
    create_programs(other_organization)
    found = {}
    for org in (organization, other_organization):
        customer = create_customer(org, email="twin@example.com", points=5)
        with tenant_context(org):
            Customer.objects.filter(pk=customer.pk).update(phone="+31612345678", name="Twin")
            found[org.slug] = (customer, Card.objects.filter(customer=customer).order_by("pk").first())
    create_customer(organization, email="bystander@example.com")
    return found


def listed_codes(response) -> set[int]:
    return {customer.customer_code for customer in response.context["cl"].result_list}


@pytest.mark.parametrize(
    "term",
    ["{code}", "twin@exa", "TWIN@EXAMPLE.COM", "+31 6 1234 5678", "0031612345678", "{card}", "{card_spaced}"],
    ids=["code", "email-part", "email-case", "phone-spaces", "phone-00", "card", "card-spaced"],
)
def test_search_finds_the_customer_by_each_key_and_never_another_organizations(
    client_a, organization, twins, term
):
    owner_login(client_a, organization)
    mine, card = twins["test-a"]
    theirs, _ = twins["test-b"]
    spaced = " ".join(card.card_number[i : i + 4] for i in range(0, 12, 4))
    query = term.format(code=mine.customer_code, card=card.card_number, card_spaced=spaced)

    response = client_a.get(CUSTOMERS, {"q": query})

    assert response.status_code == 200
    assert listed_codes(response) == {mine.customer_code}
    assert str(theirs.customer_code) not in response.content.decode()


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("win@example.com", set()),  # a whole address: that address only, not twin@
        ("win@exam", {"twin"}),  # a part of one
        ("+31612345678", {"twin"}),
        ("+3161234567", set()),  # a whole number of ten digits: that number only
        ("1234567", {"twin"}),  # a run of the digits
    ],
    ids=["whole-email", "email-part", "whole-phone", "other-whole-phone", "phone-digits"],
)
def test_a_whole_email_or_phone_number_finds_that_one_a_part_finds_every_holder(
    client_a, organization, twins, term, found
):
    owner_login(client_a, organization)
    names = {"twin": twins["test-a"][0].customer_code}

    response = client_a.get(CUSTOMERS, {"q": term})

    assert response.status_code == 200
    assert listed_codes(response) == {names[name] for name in found}


def test_a_search_for_digits_int_refuses_finds_nothing(client_a, organization, twins):
    """ "²²²²²²" passes str.isdigit(); int() refused it and the page answered 500."""
    owner_login(client_a, organization)
    response = client_a.get(CUSTOMERS, {"q": "²²²²²²"})
    assert (response.status_code, listed_codes(response)) == (200, set())


def test_another_organizations_code_or_card_finds_nothing(client_a, organization, twins):
    owner_login(client_a, organization)
    theirs, their_card = twins["test-b"]

    for term in (str(theirs.customer_code), their_card.card_number):
        assert listed_codes(client_a.get(CUSTOMERS, {"q": term})) == set()


def test_the_customer_page_shows_each_card_number_once_and_the_timeline(client_a, organization, twins):
    owner_login(client_a, organization)
    mine, card = twins["test-a"]

    page = client_a.get(f"{CUSTOMERS}{mine.pk}/change/")

    html = page.content.decode()
    assert page.status_code == 200
    assert html.count(card.card_number) == 1
    assert [item.kind for item in page.context["timeline"]] == ["ledger", "consent", "consent", "consent"]
    assert 'id="customer-timeline-title"' in html and f"{mine.pk}/block/" in html
    assert 'name="status"' not in html  # blocks go through the audited pages, not the form


def test_editing_name_and_phone_is_audited(client_a, organization, twins):
    owner = owner_login(client_a, organization)
    mine, _ = twins["test-a"]

    saved = client_a.post(f"{CUSTOMERS}{mine.pk}/change/", {"name": "Tina Twin", "phone": "+31 6 9999 0000"})

    assert saved.status_code == 302
    assert customers(organization)[0] == ("twin@example.com", "Tina Twin", "+31699990000", "active")
    assert audit(organization) == [
        (
            owner.email,
            "customers.update",
            str(mine.pk),
            {"changes": {"name": ["Twin", "Tina Twin"], "phone": ["+31612345678", "+31699990000"]}},
        )
    ]


def test_block_and_unblock_through_the_page_with_a_reason(client_a, organization, twins, pos):
    owner_login(client_a, organization)
    mine, _ = twins["test-a"]
    url = f"{CUSTOMERS}{mine.pk}/block/"
    assert client_a.get(url).status_code == 200

    no_reason = client_a.post(url, {"reason": ""})
    assert (no_reason.status_code, no_reason.context["error_code"]) == (422, "reason_required")
    assert (customers(organization)[0][3], audit(organization)) == ("active", [])

    assert client_a.post(url, {"reason": "Chargeback"}).status_code == 302
    assert customers(organization)[0][3] == "blocked"
    earn = pos.post(
        "/webhook/pos",
        {"customer_code": mine.customer_code, "amount": 5, "card_type": "point", "external_id": "e1"},
    )
    assert (earn.status_code, earn.json()["error"]) == (422, "customer_blocked")
    again = client_a.post(url, {"reason": "Twice"})
    assert (again.status_code, again.context["error_code"]) == (409, "already_blocked")

    assert client_a.post(f"{CUSTOMERS}{mine.pk}/unblock/", {"reason": "Paid"}).status_code == 302
    assert [(action, details["reason"]) for _, action, _, details in audit(organization)] == [
        ("customers.block", "Chargeback"),
        ("customers.unblock", "Paid"),
    ]


def test_block_a_card_from_the_page_and_only_the_customers_own(client_a, organization, twins, pos):
    owner_login(client_a, organization)
    mine, card = twins["test-a"]
    with tenant_context(organization):
        bystander = Customer.objects.get(email="bystander@example.com")

    assert (
        client_a.post(f"{CUSTOMERS}{bystander.pk}/cards/{card.pk}/block/", {"reason": "x"}).status_code == 404
    )
    assert (
        client_a.post(f"{CUSTOMERS}{mine.pk}/cards/{card.pk}/block/", {"reason": "Lost"}).status_code == 302
    )
    body = {"customer_code": mine.customer_code, "amount": 5, "card_type": "point", "external_id": "e-card"}
    earn = pos.post("/webhook/pos", body)
    assert (card.program.kind, earn.status_code, earn.json()["error"]) == ("point", 422, "card_blocked")
    assert (
        client_a.post(f"{CUSTOMERS}{mine.pk}/cards/{card.pk}/unblock/", {"reason": "Found"}).status_code
        == 302
    )

    assert [(action, target) for _, action, target, _ in audit(organization)] == [
        ("cards.block", str(card.pk)),
        ("cards.unblock", str(card.pk)),
    ]


def test_giftcard_and_voucher_actions_need_a_reason_and_are_audited(client_a, organization):
    owner = owner_login(client_a, organization)
    with tenant_context(organization):
        gift = giftcard_batch_generate(name="b", count=1, currency="EUR").giftcards.get()
        voucher = Voucher.objects.create(promotion=Promotion.objects.create(title="Spring"), code="SPRING9")
    giftcards, vouchers = "/admin/stored_value/giftcard/", "/admin/vouchers/voucher/"

    client_a.post(giftcards, {"action": "block", "_selected_action": [gift.pk], "reason": ""})
    client_a.post(vouchers, {"action": "void", "_selected_action": [voucher.pk]})
    assert audit(organization) == []
    client_a.post(giftcards, {"action": "block", "_selected_action": [gift.pk], "reason": "Misprint"})
    client_a.post(vouchers, {"action": "void", "_selected_action": [voucher.pk], "reason": "Leaked"})
    client_a.post(vouchers, {"action": "void", "_selected_action": [voucher.pk], "reason": "Again"})

    with tenant_context(organization):
        assert (Giftcard.objects.get().status, Voucher.objects.get().status) == ("blocked", "void")
    assert [(email, action, target) for email, action, target, _ in audit(organization)] == [
        (owner.email, "giftcards.block", str(gift.pk)),
        (owner.email, "vouchers.void", str(voucher.pk)),
    ]


def test_data_export_downloads_json_and_is_audited(client_a, organization, twins):
    owner_login(client_a, organization)
    mine, card = twins["test-a"]
    url = f"{CUSTOMERS}{mine.pk}/data/"
    assert client_a.get(url).status_code == 200 and audit(organization) == []

    download = client_a.post(url)

    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment;")
    data = json.loads(download.content)
    assert (data["customer"]["email"], data["cards"][0]["card_number"]) == (
        "twin@example.com",
        card.card_number,
    )
    assert [action for _, action, _, _ in audit(organization)] == ["customers.data_export"]


def test_erase_needs_the_typed_word_and_then_holds(client_a, organization, twins, pos):
    owner_login(client_a, organization)
    mine, _ = twins["test-a"]
    url = f"{CUSTOMERS}{mine.pk}/erase/"
    before = customers(organization)

    wrong = client_a.post(url, {"reason": "Asked", "confirm": "erase"})
    assert (wrong.status_code, customers(organization), audit(organization)) == (422, before, [])

    assert client_a.post(url, {"reason": "Asked by email", "confirm": "ERASE"}).status_code == 302
    assert customers(organization)[0] == (f"deleted-{mine.pk}@deleted.invalid", "", "", "deleted")
    found = pos.get("/webhook/customer", {"code": mine.customer_code})
    assert (found.status_code, found.json()["error"]) == (404, "customer_not_found")
    again = client_a.post(url, {"reason": "Twice", "confirm": "ERASE"})
    assert (again.status_code, again.context["error_code"]) == (409, "customer_erased")
    page = client_a.get(f"{CUSTOMERS}{mine.pk}/change/").content.decode()
    assert "/erase/" not in page and "/block/" not in page
    assert [action for _, action, _, _ in audit(organization)] == ["customers.erase"]


GOOD_AND_BAD = (
    "email,name,phone\n"
    "new@example.com,New,+31611112222\n"
    "TWIN@example.com,Twin Renamed,\n"
    "broken-email,Bad,\n"
    "bad-phone@example.com,Bad,12\n"
)


def test_import_previews_then_applies_and_a_second_import_duplicates_nothing(client_a, organization, twins):
    owner = owner_login(client_a, organization)
    before = customers(organization)

    preview = client_a.post(
        f"{CUSTOMERS}import/", {"file": csv_file(GOOD_AND_BAD), "consents_confirmed": "on"}
    )

    assert preview.status_code == 200
    assert preview.context["counts"] == {"created": 1, "updated": 1, "unchanged": 0, "errors": 2}
    html = preview.content.decode()
    assert 'data-error="invalid_email"' in html and 'data-error="phone_invalid"' in html
    assert (customers(organization), audit(organization)) == (before, [])

    token = preview.context["token"]
    assert client_a.post(f"{CUSTOMERS}import/confirm/", {"token": token}).status_code == 302

    after = customers(organization)
    assert len(after) == len(before) + 1 and after[0][1] == "Twin Renamed"
    assert ("new@example.com", "New", "+31611112222", "active") in after
    assert audit(organization) == [
        (
            owner.email,
            "customers.import",
            "",
            {"counts": {"created": 1, "updated": 1, "unchanged": 0, "errors": 2}, "rows": 4},
        )
    ]
    replay = client_a.post(f"{CUSTOMERS}import/confirm/", {"token": token})
    assert (replay.status_code, replay.context["error_code"]) == (400, "import_token_invalid")
    second = client_a.post(
        f"{CUSTOMERS}import/", {"file": csv_file(GOOD_AND_BAD), "consents_confirmed": "on"}
    )
    assert second.context["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "errors": 2}
    client_a.post(f"{CUSTOMERS}import/confirm/", {"token": second.context["token"]})
    assert customers(organization) == after


@pytest.mark.parametrize(
    ("upload", "status", "code"),
    [
        (csv_file("email\nzoë@example.com\n".encode("latin-1")), 400, "import_not_utf8"),
        (csv_file(b"email\n" + b"a" * (3 * 1024 * 1024)), 413, "import_file_too_large"),
        (csv_file('email,name\n"a@example.com,Ann\n'), 400, "import_malformed"),
        (csv_file("email,tier\na@example.com,gold\n"), 400, "import_unknown_columns"),
        (csv_file(""), 422, "form_invalid"),  # Django refuses an empty upload itself
    ],
    ids=["latin-1", "huge", "malformed", "unknown-column", "empty"],
)
def test_a_bad_file_is_refused_with_its_code_and_changes_nothing(
    client_a, organization, twins, upload, status, code
):
    owner_login(client_a, organization)
    before = customers(organization)

    response = client_a.post(f"{CUSTOMERS}import/", {"file": upload, "consents_confirmed": "on"})

    assert (response.status_code, response.context["error_code"]) == (status, code)
    assert f'data-error="{code}"' in response.content.decode()
    assert (customers(organization), audit(organization)) == (before, [])


def test_an_upload_without_the_consent_confirmation_is_refused(client_a, organization):
    owner_login(client_a, organization)
    response = client_a.post(f"{CUSTOMERS}import/", {"file": csv_file("email\na@example.com\n")})
    assert (response.status_code, response.context["error_code"]) == (422, "form_invalid")


def test_an_import_token_works_only_for_its_organization_and_its_uploader(
    client_a, client_b, organization, other_organization, twins
):
    owner_login(client_a, organization)
    preview = client_a.post(
        f"{CUSTOMERS}import/", {"file": csv_file(GOOD_AND_BAD), "consents_confirmed": "on"}
    )
    token = preview.context["token"]
    owner_login(client_b, other_organization)  # same email, maybe the same id, in B's schema
    colleague = HostClient(organization)
    owner_login(colleague, organization, email="colleague@example.com")
    before = (customers(organization), customers(other_organization))

    on_b = client_b.post(f"{CUSTOMERS}import/confirm/", {"token": token})
    by_colleague = colleague.post(f"{CUSTOMERS}import/confirm/", {"token": token})
    forged = client_a.post(f"{CUSTOMERS}import/confirm/", {"token": "x" * 32})

    for response in (on_b, by_colleague, forged):
        assert (response.status_code, response.context["error_code"]) == (400, "import_token_invalid")
    assert (customers(organization), customers(other_organization)) == before
    assert audit(organization) == audit(other_organization) == []


def test_export_streams_this_organizations_customers_and_is_audited(client_a, organization, twins):
    owner = owner_login(client_a, organization)

    response = client_a.get(f"{CUSTOMERS}export.csv")

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert lines[0] == "customer_code,email,name,phone,consent_marketing,status,created_at"
    assert sorted(line.split(",")[1] for line in lines[1:]) == ["bystander@example.com", "twin@example.com"]
    assert str(twins["test-b"][0].customer_code) not in "".join(lines)
    assert audit(organization) == [(owner.email, "customers.export", "", {"count": 2})]


def test_staff_without_the_permissions_get_403_and_change_nothing(client_a, organization, twins):
    plain_staff_login(client_a, organization)
    mine, card = twins["test-a"]
    before = customers(organization)
    gets = [
        f"{CUSTOMERS}",
        f"{CUSTOMERS}{mine.pk}/change/",
        f"{CUSTOMERS}{mine.pk}/timeline/",
        f"{CUSTOMERS}{mine.pk}/data/",
        f"{CUSTOMERS}{mine.pk}/erase/",
        f"{CUSTOMERS}import/",
        f"{CUSTOMERS}export.csv",
        "/admin/audit/auditlogentry/",
    ]
    posts = [
        (f"{CUSTOMERS}{mine.pk}/block/", {"reason": "x"}),
        (f"{CUSTOMERS}{mine.pk}/cards/{card.pk}/block/", {"reason": "x"}),
        (f"{CUSTOMERS}{mine.pk}/data/", {}),
        (f"{CUSTOMERS}{mine.pk}/erase/", {"reason": "x", "confirm": "ERASE"}),
        (f"{CUSTOMERS}import/", {"file": csv_file(GOOD_AND_BAD), "consents_confirmed": "on"}),
        (f"{CUSTOMERS}import/confirm/", {"token": "x" * 32}),
    ]

    statuses = [client_a.get(url).status_code for url in gets] + [
        client_a.post(url, body).status_code for url, body in posts
    ]

    assert statuses == [403] * (len(gets) + len(posts))
    assert (customers(organization), audit(organization)) == (before, [])


def test_another_organizations_staff_session_gets_nothing_here(
    client_a, client_b, organization, other_organization, twins
):
    owner_login(client_b, other_organization)
    mine, _ = twins["test-a"]
    client_a.cookies = client_b.cookies  # B's session cookie sent to A's host
    before = customers(organization)

    responses = [
        client_a.get(f"{CUSTOMERS}?q=twin"),
        client_a.get(f"{CUSTOMERS}{mine.pk}/change/"),
        client_a.post(f"{CUSTOMERS}{mine.pk}/block/", {"reason": "x"}),
        client_a.post(f"{CUSTOMERS}{mine.pk}/data/"),
        client_a.get(f"{CUSTOMERS}export.csv"),
        client_a.get("/admin/audit/auditlogentry/"),
    ]

    assert [(r.status_code, r["Location"].split("?")[0]) for r in responses] == [(302, "/admin/login/")] * 6
    assert (customers(organization), audit(organization)) == (before, [])


def test_the_timeline_page_shows_older_events_and_refuses_a_bad_cursor(client_a, organization, twins):
    owner_login(client_a, organization)
    mine, _ = twins["test-a"]
    url = f"{CUSTOMERS}{mine.pk}/timeline/"

    assert [item.kind for item in client_a.get(url).context["timeline"]] == [
        "ledger",
        "consent",
        "consent",
        "consent",
    ]
    assert client_a.get(url, {"before": "2000-01-01T00:00:00+00:00"}).context["timeline"] == []
    for bad in ("yesterday", "2026-01-01T00:00:00", "2026-13-01T00:00:00+00:00"):  # not a time; no zone
        response = client_a.get(url, {"before": bad})
        assert (response.status_code, response.json()) == (400, {"error": "before_invalid"})


def test_the_list_blocks_selected_customers_one_by_one_and_skips_the_blocked(client_a, organization, twins):
    owner = owner_login(client_a, organization)
    with tenant_context(organization):
        twin, bystander = Customer.objects.order_by("pk")
    client_a.post(f"{CUSTOMERS}{twin.pk}/block/", {"reason": "Earlier"})
    selected = {"action": "block_selected", "_selected_action": [twin.pk, bystander.pk]}

    client_a.post(CUSTOMERS, selected)  # no reason: nothing
    assert [row[3] for row in customers(organization)] == ["blocked", "active"]
    done = client_a.post(CUSTOMERS, {**selected, "reason": "Fraud ring"}, follow=True)

    assert [row[3] for row in customers(organization)] == ["blocked", "blocked"]
    assert [str(m) for m in done.context["messages"]][-2:] == [
        "Blocked 1 customer(s).",
        "Skipped 1: already_blocked.",
    ]
    assert [(email, action, target) for email, action, target, _ in audit(organization)] == [
        (owner.email, "customers.block", str(twin.pk)),
        (owner.email, "customers.block", str(bystander.pk)),
    ]


def test_staff_who_may_only_view_giftcards_and_vouchers_cannot_run_their_actions(client_a, organization):
    viewer = plain_staff_login(client_a, organization)
    with tenant_context(organization):
        viewer.user_permissions.add(
            *Permission.objects.filter(codename__in=["view_giftcard", "view_voucher"])
        )
        gift = giftcard_batch_generate(name="b", count=1, currency="EUR").giftcards.get()
        voucher = Voucher.objects.create(promotion=Promotion.objects.create(title="Spring"), code="SPRING8")

    listing = client_a.get("/admin/stored_value/giftcard/")
    client_a.post(
        "/admin/stored_value/giftcard/", {"action": "block", "_selected_action": [gift.pk], "reason": "x"}
    )
    client_a.post(
        "/admin/vouchers/voucher/", {"action": "void", "_selected_action": [voucher.pk], "reason": "x"}
    )

    form = listing.context["action_form"]
    offered = [name for name, _ in form.fields["action"].choices] if form else []
    assert (listing.status_code, "block" in offered, "unblock" in offered) == (200, False, False)
    with tenant_context(organization):
        assert (Giftcard.objects.get().status, Voucher.objects.get().status) == ("inactive", "active")
    assert audit(organization) == []
