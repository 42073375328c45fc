from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.core.sms import SmsError
from loyalty_platform.customers.phone_change import phone_change_code_send
from loyalty_platform.customers.welcome import welcome_email_send


@shared_task(base=TenantTask, ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_welcome_email(customer_id: int) -> None:
    welcome_email_send(customer_id=customer_id)


@shared_task(
    base=TenantTask, ignore_result=True, autoretry_for=(SmsError,), retry_backoff=True, max_retries=5
)
def send_phone_change_code(change_id: int, language: str) -> None:
    """The code confirming a new phone number; a provider outage retries it with a new code."""
    phone_change_code_send(change_id=change_id, language=language)
