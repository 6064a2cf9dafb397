"""Delivering a report to its employer: e-mail with the PDF attached, a signed webhook, or a portal link.

Each attempt is a `ReportDelivery` row (queued → sent → acknowledged, or failed with the reason), promised
through the outbox topic `appraisal.deliver`. A failed attempt is retried with exponential back-off (a new
outbox message that becomes due later) until the attempt budget is spent; an admin re-sends on request,
which opens a new row so the history stays. Every delivery carries an expiring portal link from which the
employer downloads the report (each download audited). Delivery is at-least-once: a crash between the send
and the commit sends again, which the verification code and delivery id let the employer recognise.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.appraisal import notices
from timebank.appraisal import render as appraisal_render
from timebank.appraisal import reports as appraisal
from timebank.appraisal.models import (
    AppraisalReport,
    DeliveryChannel,
    DeliveryProfile,
    DeliveryStatus,
    ReportDelivery,
    ReportStatus,
)
from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound, get_or_404
from timebank.ops import audit, outbox
from timebank.ops.models import OutboxMessage
from timebank.people.access import ADMIN_ROLES, Actor
from timebank.people.models import Employer

log = logging.getLogger("timebank.appraisal.delivery")

TOPIC = "appraisal.deliver"
EVENT = "appraisal.report"
PORTAL_SALT = "timebank.appraisal-portal"


@dataclass(frozen=True)
class DeliveryConfig:
    """What a delivery needs from the app's configuration (read by the job, so this module is Flask-free)."""

    secret_key: str
    base_url: str
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "timebank@localhost"
    portal_days: int = 30
    max_attempts: int = 5
    timeout: float = 10.0
    allow_private_hosts: bool = False  # webhooks to non-public addresses (see webhooks.blocked_destination)


# --- profiles -----------------------------------------------------------------------------------------------


def _employer(session: Session, actor: Actor, employer_id: int) -> Employer:
    employer = get_or_404(session, Employer, employer_id, "employer_not_found")
    if employer_id not in actor.employer_ids():
        actor.require_on(ADMIN_ROLES, employer.org.path)
    return employer


def set_profile(session: Session, actor: Actor, employer_id: int, *, channel: DeliveryChannel,
                email: str | None = None, webhook_url: str | None = None,
                webhook_secret: str | None = None) -> DeliveryProfile:
    """How the employer receives reports (the employer itself, or an admin where it is registered)."""
    employer = _employer(session, actor, employer_id)
    if channel == DeliveryChannel.email and not (email or employer.contact_email):
        raise InvalidInput("email_required", variant="address")
    profile = session.scalar(select(DeliveryProfile).where(DeliveryProfile.employer_id == employer.id))
    if channel == DeliveryChannel.webhook and not (webhook_url and (webhook_secret or
                                                                    (profile and profile.webhook_secret))):
        raise InvalidInput("webhook_required", variant="profile")
    if profile is None:
        profile = DeliveryProfile(employer_id=employer.id, channel=channel)
        session.add(profile)
    profile.channel, profile.email, profile.webhook_url = channel, email, webhook_url
    if webhook_secret:
        profile.webhook_secret = webhook_secret
    profile.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "appraisal.delivery_profile", "employer", employer.id, org_path=employer.org.path,
                 after={"channel": str(channel), "email": email, "webhook_url": webhook_url})
    return profile


def _target(session: Session, report: AppraisalReport, channel: DeliveryChannel | None) -> tuple:
    profile = session.scalar(select(DeliveryProfile).where(DeliveryProfile.employer_id == report.employer_id))
    email = (profile.email if profile else None) or report.employer.contact_email
    if channel is None:
        channel = profile.channel if profile else (DeliveryChannel.email if email else DeliveryChannel.portal)
    if channel == DeliveryChannel.email:
        if not email:
            raise InvalidInput("email_required")
        return channel, email
    if channel == DeliveryChannel.webhook:
        if profile is None or not profile.webhook_url:
            raise InvalidInput("webhook_required")
        return channel, profile.webhook_url
    return channel, None


def queue_for_report(session: Session, report: AppraisalReport,
                     channel: DeliveryChannel | None = None) -> ReportDelivery:
    """Open a delivery row and promise the send (flushes)."""
    channel, target = _target(session, report, channel)
    delivery = ReportDelivery(report_id=report.id, employer_id=report.employer_id, channel=channel, target=target,
                              status=DeliveryStatus.queued, attempts=0)
    session.add(delivery)
    session.flush()
    outbox.add(session, TOPIC, {"delivery_id": delivery.id}, dedupe_key=f"appraisal:deliver:{delivery.id}:0")
    return delivery


def render_and_queue(session: Session, report_id: int, *, base_url: str) -> AppraisalReport | None:
    """Render a pending report and queue its delivery (flushes). A report rendered before is left alone."""
    report = session.get(AppraisalReport, report_id)
    was_pending = report is not None and report.status == ReportStatus.pending
    report = appraisal.process_report(session, report_id, base_url=base_url)
    if not was_pending or report is None or report.status != ReportStatus.rendered:
        return report
    try:
        with session.begin_nested():
            queue_for_report(session, report)
    except InvalidInput as exc:  # e.g. a webhook profile without a URL: rendered, delivery needs a fix
        report.error = f"delivery_not_queued: {exc.detail}"[:480]
        session.flush()
        log.warning("appraisal delivery not queued", extra={"fields": {"report_id": report_id,
                                                                      "error": exc.detail}})
    return report


def resend(session: Session, actor: Actor, report_id: int, *, channel: DeliveryChannel | None = None
           ) -> ReportDelivery:
    """Send the report again (a new delivery row), e.g. after a failure or a changed address."""
    report = get_or_404(session, AppraisalReport, report_id, "report_not_found")
    actor.require_on(appraisal.RUN_ROLES, report.district_path)
    if report.status != ReportStatus.rendered:
        raise Conflict("report_not_rendered")
    delivery = queue_for_report(session, report, channel)
    audit.record(session, actor, "appraisal.report_resend", "appraisal_report", report.id,
                 org_path=report.district_path, after={"delivery_id": delivery.id, "channel": str(delivery.channel)})
    return delivery


# --- portal links -------------------------------------------------------------------------------------------


def _serializer(cfg: DeliveryConfig) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(cfg.secret_key, salt=PORTAL_SALT)


def portal_url(delivery: ReportDelivery, cfg: DeliveryConfig) -> str:
    """A signed link to the delivery's report; it stops working at `link_expires_at` (set here if unset)."""
    if delivery.link_expires_at is None:
        delivery.link_expires_at = utcnow() + timedelta(days=cfg.portal_days)
    token = _serializer(cfg).dumps({"d": delivery.id})
    return f"{cfg.base_url.rstrip('/')}/api/appraisal/portal/{token}"


def issue_portal_link(session: Session, actor: Actor, report_id: int, cfg: DeliveryConfig) -> dict:
    """A fresh download link for the employer (the employer itself, or a district/street admin)."""
    report = appraisal.get_report(session, actor, report_id)
    if report.status != ReportStatus.rendered:
        raise Conflict("report_not_rendered")
    delivery = ReportDelivery(report_id=report.id, employer_id=report.employer_id, channel=DeliveryChannel.portal,
                              status=DeliveryStatus.sent, attempts=1, sent_at=utcnow())
    session.add(delivery)
    session.flush()
    url = portal_url(delivery, cfg)
    audit.record(session, actor, "appraisal.portal_link", "appraisal_report", report.id,
                 org_path=report.district_path, after={"delivery_id": delivery.id,
                                                       "expires_at": delivery.link_expires_at.isoformat()})
    return {"delivery_id": delivery.id, "url": url, "expires_at": delivery.link_expires_at}


def open_portal(session: Session, token: str, fmt: str, cfg: DeliveryConfig) -> tuple[bytes, str, str]:
    """Download through a link: valid signature, not expired. Audited as the delivery's portal access."""
    try:
        data = _serializer(cfg).loads(token, max_age=cfg.portal_days * 86400)
    except SignatureExpired as exc:
        raise Forbidden("link_expired") from exc
    except BadSignature as exc:
        raise NotFound("link_invalid") from exc
    delivery = get_or_404(session, ReportDelivery, int(data.get("d", 0)), "link_invalid")
    if delivery.link_expires_at is None or delivery.link_expires_at <= utcnow():
        raise Forbidden("link_expired")
    report = delivery.report
    content = appraisal.document_bytes(session, report, fmt, base_url=cfg.base_url)
    audit.record(session, Actor(kind="portal", id=delivery.id), "appraisal.report_read", "appraisal_report",
                 report.id, org_path=report.district_path, after={"format": fmt, "via": "portal"})
    return content


# --- sending ------------------------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


def deliver(session: Session, delivery_id: int, cfg: DeliveryConfig) -> ReportDelivery | None:
    """One attempt. Success marks it sent; a failure records the reason and schedules the next attempt, or
    marks it failed once the budget is spent. Never raises for a delivery failure (flushes)."""
    delivery = session.get(ReportDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.queued:
        return delivery
    delivery.attempts += 1
    try:
        if delivery.channel == DeliveryChannel.email:
            _send_email(session, delivery, cfg)
        elif delivery.channel == DeliveryChannel.webhook:
            _send_webhook(session, delivery, cfg)
        else:
            portal_url(delivery, cfg)
    except DeliveryFailed as exc:
        delivery.last_error = str(exc)[:1000]
        if exc.retryable and delivery.attempts < cfg.max_attempts:
            message = outbox.add(session, TOPIC, {"delivery_id": delivery.id},
                                 dedupe_key=f"appraisal:deliver:{delivery.id}:{delivery.attempts}")
            message.available_at = utcnow() + backoff(delivery.attempts)
            log.warning("appraisal delivery failed; will retry", extra={"fields": {
                "delivery_id": delivery.id, "attempts": delivery.attempts, "error": delivery.last_error}})
        else:
            delivery.status = DeliveryStatus.failed
            log.error("appraisal delivery failed", extra={"fields": {"delivery_id": delivery.id,
                                                                      "error": delivery.last_error}})
        session.flush()
        return delivery
    delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.sent, utcnow(), None
    session.flush()
    notices.letter_delivered(session, session.get(AppraisalReport, delivery.report_id), delivery.id)
    return delivery


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


def _attachment_name(report: AppraisalReport, ext: str) -> str:
    return f"{report.employer.name}-{report.run.period.label}-一信一函.{ext}"


def build_email(session: Session, delivery: ReportDelivery, cfg: DeliveryConfig) -> EmailMessage:
    report = delivery.report
    period = report.run.period
    link = portal_url(delivery, cfg)
    msg = EmailMessage()
    msg["Subject"] = f"【一信一函】{period.label}在职党员社区服务情况反馈 - {report.employer.name}"
    msg["From"] = formataddr((f"{period.district.name}爱心银行", cfg.mail_from))
    msg["To"] = delivery.target
    msg["Message-ID"] = make_msgid(idstring=f"appraisal-delivery-{delivery.id}")
    msg["X-Timebank-Verification-Code"] = report.verification_code
    msg.set_content(
        f"{report.employer.name}党组织:\n\n"
        f"附件是贵单位 {report.member_count} 名在职党员{period.label}在居住地社区报到和参加志愿服务的情况反馈函"
        f"(PDF)及明细表(CSV)。\n\n核验码:{report.verification_code}\n"
        f"在线下载(至 {appraisal_render.cn_date(delivery.link_expires_at.date())} 有效):{link}\n\n"
        "请收到后在爱心银行单位端确认,并对每名党员给出评议意见(双评议)。\n\n"
        f"{period.district.name}社区党组织\n")
    msg.add_attachment(report.pdf, maintype="application", subtype="pdf",
                       filename=_attachment_name(report, "pdf"))
    csv_bytes, _mime, _name = appraisal.document_bytes(session, report, "csv", base_url=cfg.base_url)
    msg.add_attachment(csv_bytes, maintype="text", subtype="csv", filename=_attachment_name(report, "csv"))
    return msg


def _send_email(session: Session, delivery: ReportDelivery, cfg: DeliveryConfig) -> None:
    msg = build_email(session, delivery, cfg)
    try:
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout) as smtp:
            if cfg.smtp_starttls:
                smtp.starttls()
            if cfg.smtp_user:
                smtp.login(cfg.smtp_user, cfg.smtp_password or "")
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(f"recipient refused: {exc.recipients}", retryable=False) from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryFailed(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=exc.smtp_code >= 400 and
                             exc.smtp_code < 500) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    if refused:
        raise DeliveryFailed(f"recipient refused: {refused}", retryable=False)


def webhook_payload(session: Session, delivery: ReportDelivery, cfg: DeliveryConfig) -> dict:
    report = delivery.report
    return {"report_id": report.id, "employer_id": report.employer_id, "verification_code": report.verification_code,
            "pdf_sha256": report.pdf_sha256, "download_url": portal_url(delivery, cfg),
            "download_expires_at": delivery.link_expires_at.isoformat(),
            "document": appraisal.report_document(session, report, base_url=cfg.base_url)}


def _send_webhook(session: Session, delivery: ReportDelivery, cfg: DeliveryConfig) -> None:
    """POST the figures (JSON) and a download link, signed like every timebank webhook (see webhook_verify)."""
    from timebank.ops import webhooks

    profile = session.scalar(select(DeliveryProfile).where(DeliveryProfile.employer_id == delivery.employer_id))
    if profile is None or not profile.webhook_url or not profile.webhook_secret:
        raise DeliveryFailed("the employer has no webhook configured", retryable=False)
    body = webhooks.encode_event(delivery.id, EVENT, webhook_payload(session, delivery, cfg), utcnow())
    outcome = webhooks.post(profile.webhook_url, profile.webhook_secret, EVENT, body, delivery_id=delivery.id,
                            timeout=cfg.timeout, allow_private=cfg.allow_private_hosts)
    if not outcome.ok:
        raise DeliveryFailed(outcome.error or f"HTTP {outcome.status}", retryable=outcome.retryable)


def pending_retry_count(session: Session, delivery_id: int) -> int:
    """Outbox messages still waiting to retry this delivery (for tests and the admin view)."""
    return len(session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.topic == TOPIC, OutboxMessage.dedupe_key.like(f"appraisal:deliver:{delivery_id}:%"),
        OutboxMessage.status == "pending")).all())


def config_from(mapping) -> DeliveryConfig:
    """The delivery settings, from the app config (`timebank.config` reads the environment)."""
    return DeliveryConfig(
        secret_key=mapping["SECRET_KEY"], base_url=mapping.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000",
        smtp_host=mapping.get("SMTP_HOST") or "127.0.0.1", smtp_port=int(mapping.get("SMTP_PORT") or 25),
        smtp_user=mapping.get("SMTP_USER"), smtp_password=mapping.get("SMTP_PASSWORD"),
        smtp_starttls=bool(mapping.get("SMTP_STARTTLS")),
        mail_from=mapping.get("MAIL_FROM") or "timebank@localhost",
        portal_days=int(mapping.get("APPRAISAL_PORTAL_DAYS", 30)),
        max_attempts=int(mapping.get("APPRAISAL_DELIVERY_MAX_ATTEMPTS") or 5),
        timeout=float(mapping.get("APPRAISAL_DELIVERY_TIMEOUT") or 10.0),
        allow_private_hosts=bool(mapping.get("WEBHOOK_ALLOW_PRIVATE_HOSTS")))
