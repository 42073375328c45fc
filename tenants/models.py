import secrets

from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.postgresql_backend.base import _check_schema_name
from django_tenants.utils import get_creation_fakes_migrations, schema_exists

from tenants.schema_copy import schema_copy

SLUG_PATTERN = r"^[a-z0-9](?:-?[a-z0-9])*$"


def _new_signing_secret() -> str:
    return secrets.token_hex(32)


class Organization(TenantMixin):
    """A merchant organization; its data lives in its own PostgreSQL schema."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        # By the operator: the POS API refuses every call, the portal is read-only, customers
        # still see their balances.
        SUSPENDED = "suspended", _("Suspended")
        # As suspended, until deletion_due_at, when the schema is dropped (after its export).
        DELETION_SCHEDULED = "deletion_scheduled", _("Deletion scheduled")

    class VerificationPreset(models.TextChoices):
        STANDARD = "standard", "Standard"
        BALANCED = "balanced", "Balanced"
        STRICT = "strict", "Strict"

    slug = models.CharField(
        max_length=40,
        unique=True,
        validators=[RegexValidator(SLUG_PATTERN, "lowercase letters, digits and single hyphens")],
    )
    name = models.CharField(
        max_length=120,
        help_text=_(
            "Your business as customers see it: on their pages, in their emails and on printed "
            "giftcard sheets, e.g. Café Luna."
        ),
    )
    currency = models.CharField(max_length=3, default="EUR")
    verification_preset = models.CharField(
        max_length=10,
        choices=VerificationPreset.choices,
        default=VerificationPreset.STANDARD,
        help_text=_(
            "When the till asks for the one-time PIN shown on the customer's phone. Standard: never. "
            "Balanced: to redeem points, stamps, coupons or rewards, to pay with prepaid credit and for "
            "staff adjustments. Strict: also to earn and to reverse; typed customer codes are refused "
            "and the customer's QR changes every 30 seconds."
        ),
    )
    pin_length = models.PositiveSmallIntegerField(
        choices=[(4, "4 digits"), (6, "6 digits")],
        default=4,
        help_text=_("Digits of the one-time PIN the customer reads out to the cashier."),
    )
    brand_color = models.CharField(
        max_length=7,
        default="#1f6f5c",
        help_text=_(
            "The colour of the header and buttons of your customers' pages and of giftcard emails, "
            "as #rrggbb, e.g. #1f6f5c."
        ),
    )
    # Signs the customers' QR payloads; never leaves the server.
    signing_secret = models.CharField(max_length=64, default=_new_signing_secret, editable=False)
    # Requests per minute per API key, by endpoint group; empty uses the platform defaults.
    rate_limits = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            'Requests per minute each API key may make, e.g. {"transactions": 60, "customer": 30} '
            "(transactions: earns, redeems, payments and other changes; customer: look-ups and "
            "sign-ups). Empty: 60 and 30; a key's own limits come first."
        ),
    )
    phone_enrollment = models.BooleanField(
        default=False,
        help_text=_(
            "Tills may enroll a customer with only a phone number: the customer gets a text message "
            "with a link where they accept the terms and finish joining. Needs the platform's SMS sender."
        ),
    )
    staff_two_factor_required = models.BooleanField(
        default=False,
        help_text="Owners must sign in with a code from an authenticator app as well as their password.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(
        max_length=255, blank=True, help_text=_("Why the operator suspended the organization; staff see it.")
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    deletion_due_at = models.DateTimeField(null=True, blank=True)
    # Set from the country at sign-up; the organization's own defaults afterwards.
    country = models.CharField(
        max_length=2, blank=True, help_text=_("ISO 3166 country code of the business, e.g. LT.")
    )
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        help_text=_("The time zone of the business's dates and reports, e.g. Europe/Vilnius."),
    )
    language = models.CharField(
        max_length=10,
        default="en",
        help_text=_("The language of customer pages and emails when the browser asks for none we have."),
    )
    # When staff, a till or an integration last did something (from the usage counters).
    last_activity_at = models.DateTimeField(null=True, blank=True)

    auto_create_schema = True
    # The template schema holds only structure and the rows every schema needs
    # (content types, permissions), so its data is copied along.
    clone_mode = "DATA"

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """As django-tenants does, but a clone keeps every constraint, index and sequence
        name of the template (tenants.schema_copy; docs/decisions/0015-clone-preserves-names.md)."""
        base_schema = self.get_base_schema() if get_creation_fakes_migrations() else False
        if not (sync_schema and base_schema and schema_exists(base_schema)):
            return super().create_schema(check_if_exists, sync_schema, verbosity)
        _check_schema_name(self.schema_name)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        schema_copy(source=base_schema, target=self.schema_name)
        call_command(
            "migrate_schemas",
            tenant=True,
            fake=True,
            schema_name=self.schema_name,
            interactive=False,
            verbosity=verbosity,
        )
        connection.set_schema_to_public()
        return True

    @property
    def is_suspended(self) -> bool:
        """Suspended or awaiting deletion: nothing may change but the status."""
        return self.status != self.Status.ACTIVE

    @staticmethod
    def schema_name_for_slug(slug: str) -> str:
        return "org_" + slug.replace("-", "_")


class Domain(DomainMixin):
    """A host name (no port) that routes to an organization."""

    def __str__(self) -> str:
        return self.domain


class Plan(models.Model):
    LIMITS = ("customers", "api_keys", "shops", "staff")

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    monthly_price = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    is_active = models.BooleanField(default=True)
    max_customers = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Members an organization may have. Empty: no limit.")
    )
    max_api_keys = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Live API keys (not counting browser-till keys). Empty: no limit."),
    )
    max_shops = models.PositiveIntegerField(null=True, blank=True, help_text=_("Shops. Empty: no limit."))
    max_staff = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Active staff accounts, owners included. Empty: no limit.")
    )

    def __str__(self) -> str:
        return self.name

    def limit(self, name: str) -> int | None:
        """The plan's limit on `name` (one of LIMITS); None when there is none."""
        if name not in self.LIMITS:
            raise ValueError(name)
        return getattr(self, f"max_{name}")


class Subscription(models.Model):
    class Status(models.TextChoices):
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Canceled"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: runs until canceled.")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.organization.slug}: {self.plan} ({self.status})"


class ApiKey(models.Model):
    """A POS terminal's or integration's key. The key is `sk_live_<lookup_id>_<secret>`;
    only a SHA-256 hash of the secret is stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    lookup_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    label = models.CharField(
        max_length=120, blank=True, help_text=_('A name to tell keys apart, e.g. "Till 1, Main Street".')
    )
    # A shop lives in the organization's schema, so this is a plain id, not a foreign key.
    shop_id = models.BigIntegerField(
        null=True,
        blank=True,
        help_text=_(
            "The id of the shop (see Shops) this till or integration stands in: orders it reports "
            "without naming a shop are booked to it. Empty: no shop."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Overrides the organization's per-minute limits for this key, e.g. {"transactions": 600}.
    rate_limits = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            'This key\'s own requests per minute, e.g. {"transactions": 600} for a busy till; a group '
            "it leaves out keeps the organization's limit."
        ),
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A browser till's key (loyalty_platform/till): the staff member it was issued to, an id
    # in the organization's schema (ids repeat across schemas), and when it stops working.
    staff_user_id = models.BigIntegerField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"sk_live_{self.lookup_id}_… ({self.label or 'no label'})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_till_key(self) -> bool:
        return self.staff_user_id is not None


class UsageDay(models.Model):
    """What an organization used on one day (UTC). The counters are counted in Redis and
    added here by a Celery task (tenants.usage); customers and storage are measured."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="usage_days")
    day = models.DateField()
    api_calls = models.BigIntegerField(default=0)
    messages = models.BigIntegerField(default=0)
    # Measured once a day: members at the end of the day, bytes of the schema's tables.
    customers = models.BigIntegerField(null=True, blank=True)
    storage_bytes = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "day"], name="tenants_usageday_one_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day}"


class PortalHandoff(models.Model):
    """A one-time link that signs someone into an organization's portal on its own host,
    from the platform host: the new owner after sign-up, an operator opening a support
    session. Only a hash of the token is stored; it works once and for a short while."""

    class Purpose(models.TextChoices):
        SIGNUP = "signup", _("Sign-up")
        SUPPORT = "support", _("Support session")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="handoffs")
    token_hash = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    # The staff member signed in, by email (staff live in the organization's schema).
    staff_email = models.EmailField()
    operator_email = models.EmailField(blank=True)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.purpose} {self.staff_email} ({self.organization_id})"


class SignupRequest(models.Model):
    """A merchant's sign-up waiting for its email address to be confirmed (tenants.signup).
    The organization is created only when the link in the email is confirmed; until then the
    password exists only as Django's hash and the link only as a hash of its token."""

    name = models.CharField(max_length=120)
    slug = models.CharField(max_length=40)
    email = models.EmailField()
    password_hash = models.CharField(max_length=128)
    country = models.CharField(max_length=2)
    sample_data = models.BooleanField(default=False)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    # After the dates: as a class attribute the name hides django.utils.timezone.
    timezone = models.CharField(max_length=64)
    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="signup_requests"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["email", "created_at"], name="tenants_signup_email")]

    def __str__(self) -> str:
        return f"{self.slug} ({self.email})"


class OperatorAction(models.Model):
    """What a platform operator did to an organization, and why: the console's audit trail
    (the public schema has no audit log of its own). It outlives the organization: a purge
    keeps these rows, with the slug, and only clears the link."""

    organization = models.ForeignKey(
        Organization, null=True, on_delete=models.SET_NULL, related_name="operator_actions"
    )
    organization_slug = models.CharField(max_length=40)
    operator_email = models.EmailField(blank=True)
    action = models.CharField(max_length=40)
    reason = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.organization_slug} by {self.operator_email or 'the platform'}"


class OrganizationExport(models.Model):
    """A zip of an organization's data (JSON per model), built by a Celery task before its
    deletion and kept after the purge (settings.ORGANIZATION_EXPORT_ROOT)."""

    organization = models.ForeignKey(
        Organization, null=True, on_delete=models.SET_NULL, related_name="exports"
    )
    organization_slug = models.CharField(max_length=40)
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Relative to ORGANIZATION_EXPORT_ROOT; empty until finished.
    file_name = models.CharField(max_length=200, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"export of {self.organization_slug} ({self.requested_at:%Y-%m-%d %H:%M})"

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None


def _new_verification_token() -> str:
    return secrets.token_hex(16)


class CustomDomain(models.Model):
    """An organization's claim to a host name of its own (loyalty.example.com). It routes
    once verified: the owner of the name publishes the TXT record `record_name` with the
    value `record_value`, the platform's resolver finds it (tenants.domains), and a Domain
    row is created. Several organizations may claim a name; only one can verify it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="custom_domains")
    hostname = models.CharField(
        max_length=253, help_text=_("The host name, without scheme or port, e.g. loyalty.example.com.")
    )
    token = models.CharField(max_length=64, default=_new_verification_token, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the last check found when it failed (tenants.domains.CHECK_ERRORS), empty otherwise.
    last_error = models.CharField(max_length=255, blank=True, editable=False)

    RECORD_PREFIX = "_loyalty-verification"
    VALUE_PREFIX = "loyalty-verification="

    class Meta:
        ordering = ["hostname"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "hostname"], name="tenants_customdomain_one_claim_per_organization"
            ),
            models.UniqueConstraint(
                fields=["hostname"],
                condition=models.Q(verified_at__isnull=False),
                name="tenants_customdomain_one_verified_claim",
            ),
        ]

    def __str__(self) -> str:
        return self.hostname

    @property
    def record_name(self) -> str:
        return f"{self.RECORD_PREFIX}.{self.hostname}"

    @property
    def record_value(self) -> str:
        return f"{self.VALUE_PREFIX}{self.token}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class JobStatus(models.Model):
    """The last outcome of one scheduled job (core.jobs) in one organization, or on the platform
    (organization empty): /healthz reports a job that has not succeeded for too long."""

    job = models.CharField(max_length=200)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="job_statuses"
    )
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_succeeded_at = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    # What the last successful run did, e.g. {"expired_points": 1200, "cards": 40}.
    last_summary = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        constraints = [
            # Two partial constraints rather than NULLS NOT DISTINCT, which PostgreSQL 14 lacks.
            models.UniqueConstraint(
                fields=["job", "organization"],
                condition=models.Q(organization__isnull=False),
                name="tenants_jobstatus_one_per_organization",
            ),
            models.UniqueConstraint(
                fields=["job"],
                condition=models.Q(organization__isnull=True),
                name="tenants_jobstatus_one_on_the_platform",
            ),
        ]
        verbose_name_plural = "job statuses"

    def __str__(self) -> str:
        return f"{self.job} ({self.organization_id or 'platform'})"


class SubscriptionNotice(models.Model):
    """An email to an organization's owners about one end of one subscription: days before it
    (the subscriptions stop covering the organization then) or once it has passed (tenants.
    notices). The row is claimed before the email goes out, so each notice is sent once, by
    one worker; a failed send is tried again later while the notice is still due."""

    class Kind(models.TextChoices):
        ENDING = "ending", _("Ends soon")
        LAPSED = "lapsed", _("Has ended")

    class Status(models.TextChoices):
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed, tried again later")
        SKIPPED = "skipped", _("Skipped: no active owner")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Ending: the days before `ends_at` the notice is for (settings.SUBSCRIPTION_NOTICE_DAYS);
    # lapsed: 0.
    days_before = models.PositiveSmallIntegerField(default=0)
    # The end the notice is about: a subscription whose end moved later gets notices again.
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    recipients = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "kind", "days_before", "ends_at"],
                name="tenants_subscriptionnotice_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.days_before} of subscription {self.subscription_id} ({self.status})"
