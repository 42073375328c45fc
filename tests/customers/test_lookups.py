"""Look-ups of a customer by email use the unique index on lower(email)."""

import re

import pytest
from django.db import connection

from loyalty_platform.customers.selectors import customer_by_email
from loyalty_platform.customers.services import customer_with_email
from tests.pos_fixtures import create_customer


@pytest.mark.parametrize("lookup", [customer_by_email, customer_with_email])
def test_an_email_look_up_finds_any_case_through_the_index(organization, in_organization, lookup):
    customer = create_customer(organization, email="Mixed.Case@Example.com")
    captured = []

    def explain(execute, sql, params, many, context):
        if sql.startswith("SELECT") and "customers_customer" in sql:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
                # Without its ORDER BY pk LIMIT 1: on a table this small the planner may walk the
                # primary key for the order instead; what matters is that the filter can use
                # the index.
                filtered = re.sub(r" ORDER BY .*$", "", sql)
                cursor.execute(f"EXPLAIN {filtered}", params)
                captured.append(" ".join(row[0] for row in cursor.fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        found = lookup("mixed.case@EXAMPLE.com")

    assert found.pk == customer.pk
    assert len(captured) == 1 and "customer_email_ci_unique" in captured[0]
