from django.db import transaction

from loyalty_platform.accounts.models import User


class StaffUserError(ValueError):
    pass


@transaction.atomic
def staff_user_create(*, email: str, password: str, name: str = "") -> User:
    """Create an admin user of the current schema (a merchant's staff or a platform operator)
    with full rights over that schema's admin."""
    normalized = User.objects.normalize_email(email).strip().lower()
    if not normalized or "@" not in normalized:
        raise StaffUserError(f"not an email address: {email!r}")
    if User.objects.filter(email__iexact=normalized).exists():
        raise StaffUserError(f"a staff user with email {normalized} already exists")
    return User.objects.create_superuser(normalized, password, name=name)


def staff_user_set_password(*, user: User, password: str) -> User:
    user.set_password(password)
    user.save(update_fields=["password"])
    return user
