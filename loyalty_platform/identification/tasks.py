from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from loyalty_platform.core.sms import SmsError
from loyalty_platform.identification.emails import (
    app_link_email_send,
    app_link_sms_send,
    invitation_email_send,
)
from loyalty_platform.identification.joining import join_sms_send
from loyalty_platform.identification.services import qr_card_session_expire, qr_login_session_expire


@shared_task(base=TenantTask, ignore_result=True)
def expire_qr_card_session(session_id: str) -> bool:
    """Scheduled at creation for the end of the session's life: tells the POS it expired."""
    return qr_card_session_expire(session_id=session_id)


@shared_task(base=TenantTask, ignore_result=True)
def expire_qr_login_session(session_id: str) -> bool:
    """Scheduled at creation for the end of the session's life: tells the shop it expired."""
    return qr_login_session_expire(session_id=session_id)


@shared_task(base=TenantTask, ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(invitation_id: str, url: str) -> None:
    invitation_email_send(invitation_id=invitation_id, url=url)


@shared_task(base=TenantTask, ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_app_link_email(customer_id: int, shop_id: int, language: str) -> None:
    app_link_email_send(customer_id=customer_id, shop_id=shop_id, language=language)


@shared_task(
    base=TenantTask, ignore_result=True, autoretry_for=(SmsError,), retry_backoff=True, max_retries=5
)
def send_join_sms(invitation_id: str) -> None:
    """The text with the link to finish joining; a provider outage retries it."""
    join_sms_send(invitation_id=invitation_id)


@shared_task(
    base=TenantTask, ignore_result=True, autoretry_for=(SmsError,), retry_backoff=True, max_retries=5
)
def send_app_link_sms(customer_id: int, language: str) -> None:
    app_link_sms_send(customer_id=customer_id, language=language)
