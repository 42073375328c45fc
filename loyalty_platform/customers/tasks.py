from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.customers.welcome import welcome_email_send


@shared_task(base=TenantTask, ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_welcome_email(customer_id: int) -> None:
    welcome_email_send(customer_id=customer_id)
