from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.stored_value.emails import giftcard_email_send


@shared_task(base=TenantTask, ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_giftcard_email(giftcard_id: int) -> None:
    giftcard_email_send(giftcard_id=giftcard_id)
