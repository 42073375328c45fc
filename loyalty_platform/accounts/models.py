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

    def __str__(self) -> str:
        return self.email
