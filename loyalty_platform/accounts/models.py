from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra_fields):
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs into an admin portal: platform operators in the public schema,
    merchant staff in their organization's schema."""

    email = models.EmailField(
        unique=True, help_text=_("The address this person signs in with; one account per address.")
    )
    name = models.CharField(
        max_length=150, blank=True, help_text=_("The person's name, for the staff list; optional.")
    )
    is_staff = models.BooleanField(
        default=True,
        help_text=_("Lets the person into this portal; off, the account stays but the portal refuses it."),
    )
    is_active = models.BooleanField(
        default=True,
        help_text=_(
            "Off: the person can no longer sign in. Switch it off instead of deleting the account, so "
            "the ledgers and the audit log keep saying who did what."
        ),
    )
    date_joined = models.DateTimeField(default=timezone.now, help_text=_("When the account was created."))
    # An account the platform made for an operator's support sessions (tenants.lifecycle):
    # signed in only through a one-time link from the console, marked in the staff list.
    is_platform_support = models.BooleanField(
        default=False,
        editable=False,
        help_text=_("Made by the platform for its support staff; they sign in only from the console."),
    )
    # Inherited from AbstractBaseUser, declared again only to say what it is.
    last_login = models.DateTimeField(
        _("last login"),
        blank=True,
        null=True,
        help_text=_("When the person last signed in; the platform sets it."),
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]
        # What staff may do that is not a model's add/change/delete/view (accounts.roles).
        permissions = [
            ("use_till", "Can use the browser till"),
            ("view_dashboard", "Can view the dashboard"),
            ("export_customers", "Can export customers"),
            ("import_customers", "Can import customers"),
            ("view_auditlog", "Can read the audit log"),
            ("manage_staff", "Can invite staff, change their roles and deactivate them"),
        ]

    def __str__(self) -> str:
        return self.email


class StaffInvitation(models.Model):
    """A one-time link that lets an invited staff member set their password. Only a hash of
    the token is kept; the row lives in the organization's schema, so another organization's
    host never finds it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation of {self.user}"
