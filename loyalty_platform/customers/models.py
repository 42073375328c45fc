from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Lower, Upper
from django.utils.translation import gettext_lazy as _


class Customer(models.Model):
    class Status(models.TextChoices):
        # Enrolled at a till by phone, without an email: no consent yet, so no profile and no
        # sign-in until they finish joining by the link sent to them (docs/decisions/0052).
        PENDING = "pending", "Pending"
        ACTIVE = "active", "Active"
        BLOCKED = "blocked", "Blocked"
        DELETED = "deleted", "Deleted"

    # Six random digits, unique within the organization; never sequential.
    customer_code = models.PositiveIntegerField(unique=True, editable=False)
    # Empty for a member who joined by phone (docs/decisions/0052-joining-by-phone.md).
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=16, blank=True, help_text="E.164, e.g. +31612345678")
    name = models.CharField(
        max_length=150,
        blank=True,
        help_text=_("The customer's name; their page and sign-in emails greet them with it. Optional."),
    )
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.ACTIVE,
        help_text=_(
            "Blocked: tills are refused every change to the customer's points, stamps and prepaid credit "
            "and every use of their coupons, vouchers and rewards; look-ups still answer. Deleted: the "
            "customer closed their account and tills no longer find them. Pending: a till enrolled their "
            "phone number and they have not finished joining (accepted the terms) by the texted link yet."
        ),
    )
    birth_date = models.DateField(
        null=True,
        blank=True,
        help_text=_("Optional; birthday campaigns and segments use the day and month."),
    )
    # db_default: rows inserted in SQL (the benchmarks' seeding) need not name it.
    language = models.CharField(
        max_length=10,
        blank=True,
        default="",
        db_default="",
        help_text=_("The customer's choice of language for their pages and emails; empty: their browser's."),
    )
    # Empty only while the customer is pending: a pending member has not consented yet.
    consent_terms_at = models.DateTimeField(null=True, blank=True)
    consent_privacy_at = models.DateTimeField(null=True, blank=True)
    # Marketing consent per channel (docs/decisions/0055): the email channel keeps its old
    # name; each given or withdrawn consent is also one ConsentEvent, the history.
    consent_marketing_at = models.DateTimeField(
        _("offers by email since"),
        null=True,
        blank=True,
        help_text=_("Since when the customer agrees to offers by email; empty: not."),
    )
    consent_sms_at = models.DateTimeField(
        _("offers by text message since"),
        null=True,
        blank=True,
        help_text=_("Since when the customer agrees to offers by text message; empty: not."),
    )
    # An account notice, not marketing: on unless the customer turned it off in the profile.
    # db_default too: rows written in SQL (imports, benchmarks) get it without naming it.
    points_expiry_warnings = models.BooleanField(
        default=True, db_default=True, help_text=_("Email the customer before their points expire.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Look-ups by email say `email <> ''` too, so that this partial index serves them.
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="customer_email_ci_unique"
            ),
            # A member without an email is known by their phone: one such member per number.
            models.UniqueConstraint(
                fields=["phone"],
                condition=models.Q(email="") & ~models.Q(phone=""),
                name="customer_phone_only_unique",
            ),
            models.CheckConstraint(
                condition=~models.Q(email="") | ~models.Q(phone=""), name="customer_email_or_phone"
            ),
        ]
        indexes = [
            models.Index(fields=["phone"], name="customer_phone_idx"),
            # The staff search's parts of an email, a name or a phone number (icontains is
            # UPPER(column) LIKE UPPER('%term%'); contains is column LIKE '%term%'): trigram
            # indexes (pg_trgm, docs/decisions/0063-trigram-customer-search.md).
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="customer_email_trgm_idx"),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_trgm_idx"),
            GinIndex(OpClass("phone", name="gin_trgm_ops"), name="customer_phone_trgm_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_code} {self.email or self.phone}"


class LoginLink(models.Model):
    """A one-time, expiring sign-in link sent by email. Only a hash of its token is kept."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="login_links")
    token_hash = models.CharField(max_length=64, unique=True)
    next_path = models.CharField(max_length=600, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"login link for {self.customer_id}"


class ConsentEvent(models.Model):
    """One marketing consent given or withdrawn, on one channel: the history behind
    Customer.consent_marketing_at (email) and consent_sms_at (docs/decisions/0055)."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("Text message")

    class Source(models.TextChoices):
        SIGNUP = "signup", _("Joining on the website")
        TILL = "till", _("At the till")
        IMPORT = "import", _("Customer import")
        PROFILE = "profile", _("The customer's profile")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribe link")
        STAFF = "staff", _("Staff")
        # Consents given before the history was kept (customers migration 0009).
        EARLIER = "earlier", _("Before the history was kept")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_events")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    given = models.BooleanField(help_text=_("Given (true) or withdrawn (false)."))
    source = models.CharField(max_length=20, choices=Source.choices)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["customer", "created_at"], name="consent_event_customer_idx")]

    def __str__(self) -> str:
        return f"{self.channel} {'given' if self.given else 'withdrawn'} by {self.customer_id}"


class PhoneChange(models.Model):
    """A customer's request to change their phone number, verified by a code texted to the new
    number. The code is drawn by the Celery task that texts it and only its hash is kept
    (empty until then); it works once, until expires_at, for a few attempts."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phone_changes")
    phone = models.CharField(max_length=16)
    code_hash = models.CharField(max_length=64, blank=True)
    remaining_attempts = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"phone change of {self.customer_id}"
