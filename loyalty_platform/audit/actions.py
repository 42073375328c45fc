"""What the audit log's action codes mean, for people reading the log or a timeline. An
action without a label here shows its code."""

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "customers.block": _("Blocked a customer"),
    "customers.unblock": _("Unblocked a customer"),
    "customers.update": _("Edited a customer"),
    "customers.import": _("Imported customers"),
    "customers.export": _("Exported the customer list"),
    "customers.data_export": _("Downloaded a customer's data"),
    "customers.erase": _("Erased a customer's data"),
    "customers.consent": _("Marketing consent given or withdrawn"),
    "customers.self_update": _("The customer edited their details"),
    "customers.phone_change": _("The customer changed their phone number"),
    "cards.block": _("Blocked a card"),
    "cards.unblock": _("Unblocked a card"),
    "giftcards.block": _("Blocked a giftcard"),
    "giftcards.unblock": _("Unblocked a giftcard"),
    "vouchers.void": _("Voided a voucher"),
    "promotions.create": _("Created a promotion"),
    "promotions.update": _("Edited a promotion"),
    "promotions.withdraw": _("Withdrew a promotion that has vouchers"),
    "promotions.delete": _("Deleted a promotion"),
    "programs.adjust": _("Adjusted points or stamps"),
    "programs.stamps_reset": _("Restarted a stamp card through the API"),
    "stored_value.adjust": _("Adjusted a money balance"),
    # The platform operator's actions on the organization (tenants.lifecycle).
    "platform.suspend": _("The platform suspended the organization"),
    "platform.reactivate": _("The platform reactivated the organization"),
    "platform.deletion_schedule": _("The platform scheduled the organization's deletion"),
    "support.session_start": _("Platform support signed in"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))
