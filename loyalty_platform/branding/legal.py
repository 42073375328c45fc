"""The organization's terms and privacy pages: the platform's default texts (shown until staff
publish their own) and how a plain text becomes a page. Staff write plain text; it is
escaped, links become links, blank lines end paragraphs and single newlines break lines, so
no HTML a staff member types ever reaches a customer's browser."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.html import linebreaks, urlize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from loyalty_platform.branding.models import LegalVersion

MAX_TEXT = 50_000


@dataclass(frozen=True)
class LegalPage:
    kind: str
    body: str
    # None: the platform's default text (no version published yet).
    version: LegalVersion | None

    @property
    def is_default(self) -> bool:
        return self.version is None

    @property
    def published_at(self) -> datetime | None:
        return self.version.published_at if self.version else None

    @property
    def html(self) -> SafeString:
        return legal_html(self.body)


def legal_html(text: str) -> SafeString:
    """`text` as HTML paragraphs: escaped first (urlize escapes what is not a link, and the
    links it makes), so the result is safe to mark so; linebreaks only adds its tags."""
    return mark_safe(linebreaks(urlize(text, nofollow=True, autoescape=True), autoescape=False))  # noqa: S308


def default_terms(*, organization: str) -> str:
    paragraphs = [
        gettext(
            "These are the terms of the loyalty program of %(organization)s. By joining you accept them."
        ),
        gettext(
            "Membership is free. You collect points or stamps with your purchases at %(organization)s "
            "and exchange them for the rewards the program offers. Points, stamps, coupons and rewards "
            "have no cash value and cannot be sold or passed on."
        ),
        gettext(
            "Prepaid credit and giftcard money stay yours: spend them at the till, or ask "
            "%(organization)s for a refund."
        ),
        gettext(
            "%(organization)s may change the program and these terms. A changed version is published "
            "on this page with its date."
        ),
        gettext(
            "You can leave at any time by deleting your account in your profile. Money left on your "
            "account has to be spent or refunded first."
        ),
    ]
    return "\n\n".join(paragraph % {"organization": organization} for paragraph in paragraphs)


def default_privacy(*, organization: str, contact_email: str | None) -> str:
    paragraphs = [
        gettext("%(organization)s is responsible for your personal data in its loyalty program."),
        gettext(
            "What is stored: your name, email address, phone number and birth date, where you gave "
            "them; your consents and when you gave them; your purchases, points, stamps, coupons and "
            "rewards; your prepaid credit and giftcard balances and their history."
        ),
        gettext(
            "Why: to run your membership. The till recognises you, your balances are kept, and you "
            "get the emails you asked for. Offers are sent only if you agreed to receive them."
        ),
        gettext(
            "To see your data, sign in to your profile and choose “Download your data”: a file with "
            "everything stored about you."
        ),
        gettext(
            "To delete it, choose “Delete your account” in your profile. Your personal data is erased; "
            "the records of purchases and balances are kept without your name, for the books."
        ),
    ]
    if contact_email:
        paragraphs.append(gettext("Questions about your data: %(email)s"))
    values = {"organization": organization, "email": contact_email or ""}
    return "\n\n".join(paragraph % values for paragraph in paragraphs)
