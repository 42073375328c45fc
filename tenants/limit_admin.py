"""Plan limits in the merchant portal's add pages: the form says so before anything is
tried, and a creation that lost a race for the last place gets the same sentence instead of
an error page."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect

from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError
from tenants.limits import plan_limit_check, plan_limit_message


class PlanLimitedAdminMixin:
    """For a ModelAdmin whose add page creates one of the plan's `plan_limit` things; put it
    before the ModelAdmin class."""

    plan_limit: str = ""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None:
            return form
        organization, limit = request.organization, self.plan_limit

        def clean(form_self):
            cleaned = form.clean(form_self)
            try:
                plan_limit_check(organization=organization, limit=limit)
            except DomainError as error:
                raise forms.ValidationError(plan_limit_message(error), code=error.code) from error
            return cleaned

        return type(form.__name__, (form,), {"clean": clean})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            if error.error is not errors.PLAN_LIMIT_REACHED:
                raise
            # The admin's transaction rolled back: nothing was created.
            messages.error(request, plan_limit_message(error))
            opts = self.model._meta
            return redirect(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")
