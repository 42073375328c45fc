"""Simultaneous enrollments of one phone number: one pending member, every call answered."""

import uuid
from collections import Counter

import pytest
from django.db import connections
from django_tenants.utils import tenant_context

from loyalty_platform.customers.models import Customer
from loyalty_platform.identification.models import Invitation
from tenants.services import organization_create
from tests.pos_fixtures import PosClient, create_programs, issue_key, run_at_once

pytestmark = pytest.mark.usefixtures("committed_db")

# At most 3 texts an hour go to one pending member: the first call's and two more.
CALLS = 3


def test_simultaneous_enrolls_of_one_phone_make_one_pending_member():
    organization = organization_create(slug=f"phone-{uuid.uuid4().hex[:8]}", name="Phone Café")
    organization.phone_enrollment = True
    organization.save(update_fields=["phone_enrollment"])
    create_programs(organization)
    key = issue_key(organization)
    connections.close_all()
    phone = "+37061234567"

    def call(index):
        response = PosClient(f"{organization.slug}.localhost", key).post(
            "/webhook/customer", {"phone": phone}
        )
        data = response.json()["data"]
        return response.status_code, data["customer_code"], data["is_new"], data["invitation_id"]

    results = run_at_once(CALLS, call)

    assert Counter((status, is_new) for status, _, is_new, _ in results) == {(200, True): 1, (200, False): 2}
    with tenant_context(organization):
        customer = Customer.objects.get()
        assert (customer.phone, customer.status) == (phone, "pending")
        assert {code for _, code, _, _ in results} == {customer.customer_code}
        assert sorted(Invitation.objects.values_list("pk", flat=True)) == sorted(r[3] for r in results)
