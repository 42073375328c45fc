from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.identification.services import qr_card_session_expire


@shared_task(base=TenantTask, ignore_result=True)
def expire_qr_card_session(session_id: str) -> bool:
    """Scheduled at creation for the end of the session's life: tells the POS it expired."""
    return qr_card_session_expire(session_id=session_id)
