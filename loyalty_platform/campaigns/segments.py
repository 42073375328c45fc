"""A segment's customers as one SQL query. (Foundation: marketing consent and the static list;
the other rule kinds follow.)"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from loyalty_platform.campaigns.models import Segment, SegmentListMember, SegmentRule
from loyalty_platform.customers.models import Customer


def _rule_condition(rule: SegmentRule) -> Q:
    if rule.kind == SegmentRule.Kind.MARKETING_CONSENT:
        condition = Q(consent_marketing_at__isnull=False)
    elif rule.kind == SegmentRule.Kind.STATIC_LIST:
        condition = Q(
            Exists(SegmentListMember.objects.filter(segment_id=rule.segment_id, customer_id=OuterRef("pk")))
        )
    else:
        raise NotImplementedError(rule.kind)
    return ~condition if rule.negate else condition


def segment_customers(segment: Segment) -> QuerySet[Customer]:
    """Active customers of the segment (blocked and deleted customers are in no segment)."""
    rules = list(segment.rules.all())
    customers = Customer.objects.filter(status=Customer.Status.ACTIVE)
    if not rules:
        return customers
    conditions = [_rule_condition(rule) for rule in rules]
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = (combined & condition) if segment.match == Segment.Match.ALL else (combined | condition)
    return customers.filter(combined)


def segment_contains(segment: Segment, customer_id: int) -> bool:
    return segment_customers(segment).filter(pk=customer_id).exists()
