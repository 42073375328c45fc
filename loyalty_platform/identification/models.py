import uuid

from django.db import models


def _hex_id() -> str:
    return uuid.uuid4().hex


def invitation_channel(invitation_id: str) -> str:
    """The public channel where the till hears what became of its invitation."""
    return f"invitation.{invitation_id}"


class QrCardSession(models.Model):
    """A POS shows a QR of /identify/<id>; the customer who opens it first is identified."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        AUTHENTICATED = "authenticated", "Authenticated"
        EXPIRED = "expired", "Expired"

    id = models.CharField(primary_key=True, max_length=32, default=_hex_id, editable=False)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.PENDING)
    device_name = models.CharField(max_length=100, blank=True)
    shop_id = models.BigIntegerField(null=True, blank=True)
    api_key_lookup_id = models.CharField(max_length=16, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    authenticated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.device_name or 'POS'} {self.status}"


class Invitation(models.Model):
    """A POS invites a person who is not a member yet, by phone or email."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        EXPIRED = "expired", "Expired"

    id = models.CharField(primary_key=True, max_length=32, default=_hex_id, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    phone = models.CharField(max_length=16, blank=True)
    email = models.EmailField(blank=True)
    api_key_lookup_id = models.CharField(max_length=16, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation {self.phone or self.email} ({self.status})"


class QrLoginSession(models.Model):
    """An e-shop shows a QR of /qr-login/<id>; the signed-in customer who confirms it in their
    profile first signs the shop's screen in as themselves. The shop learns who they are and
    a sign-in reference (the token): a record of this sign-in, not a key to the customer's
    account. Only the token's hash is kept; services.qr_login_token derives the token."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SCANNED = "scanned", "Scanned"  # a customer opened the page and has not answered yet
        AUTHENTICATED = "authenticated", "Authenticated"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    id = models.CharField(primary_key=True, max_length=32, default=_hex_id, editable=False)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.PENDING)
    device_name = models.CharField(max_length=100, blank=True)
    shop_id = models.BigIntegerField(null=True, blank=True)
    api_key_lookup_id = models.CharField(max_length=16, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_nonce = models.CharField(max_length=32, blank=True)
    token_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    scanned_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)  # confirmed or declined

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.device_name or 'e-shop'} sign-in {self.status}"


class JoinLink(models.Model):
    """The link texted to a person a till enrolled by phone: it opens the page where they
    consent and finish joining, once and until it expires. Only a hash of its token is kept,
    taken over the organization's schema and the token (services.join_link_hash), so a token
    names its organization. The invitation is the till's channel for the outcome."""

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="join_links")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="join_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"join link for {self.customer_id}"
