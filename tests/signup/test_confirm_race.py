"""A confirmation link clicked several times at once (a double click, two tabs) creates one
organization; the other requests find the sign-up confirmed."""

import hashlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

from tenants.models import Organization, SignupRequest
from tenants.signup import SignupError, signup_confirm, signup_request_create

RACERS = 3


def test_a_link_confirmed_at_once_by_several_requests_creates_one_organization(committed_db):
    slug = f"race-{uuid.uuid4().hex[:6]}"
    signup = signup_request_create(
        name="Race Café",
        slug=slug,
        email=f"owner@{slug}.example",
        password="a-long-owner-password",
        country="LT",
    )
    SignupRequest.objects.filter(pk=signup.pk).update(token_hash=hashlib.sha256(slug.encode()).hexdigest())
    start = threading.Barrier(RACERS)

    def confirm(_index: int) -> str:
        try:
            start.wait(timeout=10)
            try:
                signup_confirm(token=slug)
            except SignupError as error:
                return error.code
            return "created"
        finally:
            connections.close_all()

    try:
        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            outcomes = list(pool.map(confirm, range(RACERS)))
        organizations = list(Organization.objects.filter(slug=slug).values_list("slug", flat=True))
    finally:
        for organization in Organization.objects.filter(slug=slug):
            organization.delete(force_drop=True)
        SignupRequest.objects.filter(pk=signup.pk).delete()

    assert sorted(outcomes) == ["created"] + ["signup_link_used"] * (RACERS - 1)
    assert organizations == [slug]
