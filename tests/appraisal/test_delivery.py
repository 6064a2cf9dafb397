"""Delivery: a signed webhook to the employer, retries with the reason kept, failure after the budget,
re-send, expiring portal links (each download audited), and who may do what."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from timebank.appraisal import delivery as appraisal_delivery
from timebank.appraisal import reports as appraisal
from timebank.appraisal.delivery import DeliveryChannel, config_from
from timebank.appraisal.models import AppraisalReport, ReportDelivery
from timebank.db_base import utcnow
from timebank.ops import webhook_verify
from timebank.ops.models import AuditEntry, OutboxMessage
from timebank.people.access import load_person_actor
from timebank.people.models import Role

from .mail import free_port
from .service import drain_all

SECRET = "whsec_employer_test_secret_0123456789"


class Receiver:
    """An employer's webhook endpoint on loopback: answers with the queued status codes, keeps requests."""

    def __init__(self, statuses):
        self.statuses, self.requests = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/appraisal"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rendered(app, session, tree, make_person, make_employer, make_member):
    """A rendered report for one employer (no service: the figures are zero, the letter still goes)."""
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nothing listens there
    employer = make_employer("市交通运输局")
    make_member(employer, tree.grid_a, name="张伟")
    district_admin = make_person("区委组织部", tree.district, roles=((Role.district_admin, tree.district),))
    actor = load_person_actor(session, district_admin)
    return employer, actor


def _run(session, actor, tree):
    period = appraisal.create_period(session, actor, district_id=tree.district.id, kind="quarter", year=2026,
                                     number=1)
    appraisal.start_run(session, actor, period.id)
    session.commit()
    drain_all(session)
    return session.scalar(select(AppraisalReport))


def _due_now(session):
    session.execute(OutboxMessage.__table__.update().values(available_at=utcnow() - timedelta(seconds=1)))
    session.commit()


def test_signed_webhook_is_retried_then_delivered(app, session, tree, rendered):
    employer, actor = rendered
    appraisal_delivery.set_profile(session, actor, employer.id, channel=DeliveryChannel.webhook,
                                   webhook_url="http://placeholder.invalid/", webhook_secret=SECRET)
    session.commit()
    with Receiver([503, 200]) as receiver:
        appraisal_delivery.set_profile(session, actor, employer.id, channel=DeliveryChannel.webhook,
                                       webhook_url=receiver.url)
        session.commit()
        report = _run(session, actor, tree)
        delivery = session.scalar(select(ReportDelivery))
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("queued", 1, "HTTP 503")
        _due_now(session)
        drain_all(session)
    session.refresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, None)
    headers, body = receiver.requests[-1]
    event = webhook_verify.verify(SECRET, headers, body)
    assert event["type"] == "appraisal.report" and event["id"] == delivery.id
    data = event["data"]
    assert data["verification_code"] == report.verification_code and data["pdf_sha256"] == report.pdf_sha256
    assert data["document"]["members"][0]["name"] == "张伟" and "phone" not in data["document"]["members"][0]
    with pytest.raises(webhook_verify.WebhookVerificationError):
        webhook_verify.verify("whsec_someone_else_entirely_000000", headers, body)


def test_failed_email_keeps_the_reason_gives_up_and_can_be_resent(app, client, session, tree, rendered):
    employer, actor = rendered
    app.config["APPRAISAL_DELIVERY_MAX_ATTEMPTS"] = 2
    report = _run(session, actor, tree)
    delivery = session.scalar(select(ReportDelivery))
    assert delivery.status == "queued" and "Connection refused" in delivery.last_error
    _due_now(session)
    drain_all(session)
    session.refresh(delivery)
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert "Connection refused" in delivery.last_error

    admin_h = _bearer(app, session, actor)
    resent = client.post(f"/api/appraisal/reports/{report.id}/resend", json={"channel": "portal"}, headers=admin_h)
    assert resent.status_code == 202 and resent.json["channel"] == "portal"
    drain_all(session)
    statuses = client.get(f"/api/appraisal/reports/{report.id}", headers=admin_h).json["deliveries"]
    assert [(d["channel"], d["status"]) for d in statuses] == [("email", "failed"), ("portal", "sent")]
    assert statuses[1]["link_expires_at"] is not None


def test_portal_link_downloads_until_it_expires_and_every_download_is_audited(app, client, session, tree,
                                                                             rendered, employer_contact):
    employer, actor = rendered
    report = _run(session, actor, tree)
    _contact, contact_h = employer_contact(employer)
    link = client.post(f"/api/appraisal/reports/{report.id}/portal-link", headers=contact_h)
    assert link.status_code == 201, link.json
    path = link.json["url"].removeprefix("http://testserver")
    pdf = client.get(path)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    as_json = client.get(path + "?format=json")
    assert as_json.json["verification"]["code"] == report.verification_code
    reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "appraisal.report_read")).all()
    assert [r.actor for r in reads] == [f"portal:{link.json['delivery_id']}"] * 2

    delivery = session.get(ReportDelivery, link.json["delivery_id"])
    delivery.link_expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    expired = client.get(path)
    assert expired.status_code == 403 and expired.json["code"] == "link_expired"
    forged = client.get(path[:-3] + "abc")
    assert forged.status_code == 404 and forged.json["code"] == "link_invalid"
    cfg = config_from({**app.config, "APPRAISAL_PORTAL_DAYS": 0})
    with pytest.raises(Exception) as exc:
        appraisal_delivery.open_portal(session, path.rsplit("/", 1)[1], "pdf", cfg)
    assert exc.value.code == "link_expired"


def test_who_may_run_read_and_evaluate(app, client, session, tree, rendered, as_user, make_employer,
                                       employer_contact):
    employer, actor = rendered
    _c, community_h = as_user(Role.community_admin, tree.community_a)
    period = client.post("/api/appraisal/periods", json={"district_id": tree.district.id, "kind": "half_year",
                                                         "year": 2026, "number": 1}, headers=community_h)
    assert period.status_code == 403
    admin_h = _bearer(app, session, actor)
    bad = client.post("/api/appraisal/periods", json={"district_id": tree.district.id, "kind": "quarter",
                                                      "year": 2026, "number": 5}, headers=admin_h)
    assert bad.status_code == 422
    ok = client.post("/api/appraisal/periods", json={"district_id": tree.district.id, "kind": "half_year",
                                                     "year": 2026, "number": 1}, headers=admin_h)
    assert ok.status_code == 201 and ok.json["label"] == "2026年上半年" and ok.json["ends_on"] == "2026-06-30"
    dup = client.post("/api/appraisal/periods", json={"district_id": tree.district.id, "kind": "half_year",
                                                      "year": 2026, "number": 1}, headers=admin_h)
    assert dup.status_code == 409 and dup.json["code"] == "period_exists"
    assert client.post("/api/appraisal/runs", json={"period_id": ok.json["id"]},
                       headers=community_h).status_code == 403

    report = _run(session, actor, tree)
    stranger = make_employer("市水务集团")
    _s, stranger_h = employer_contact(stranger)
    assert client.get(f"/api/appraisal/reports/{report.id}", headers=stranger_h).status_code == 403
    assert client.post(f"/api/appraisal/reports/{report.id}/acknowledgement",
                       headers=admin_h).status_code == 403  # only the employer acknowledges
    _e, employer_h = employer_contact(employer)
    entry_id = json.loads(client.get(f"/api/appraisal/reports/{report.id}/document?format=json",
                                     headers=employer_h).data)["members"][0]["entry_id"]
    wrong = client.put(f"/api/appraisal/reports/{report.id}/evaluations",
                       json={"items": [{"entry_id": entry_id, "grade": "superb"}]}, headers=employer_h)
    assert wrong.status_code == 422
    foreign = client.put(f"/api/appraisal/reports/{report.id}/evaluations",
                         json={"items": [{"entry_id": entry_id + 999, "grade": "excellent"}]}, headers=employer_h)
    assert foreign.status_code == 404 and foreign.json["code"] == "entry_not_in_report"
    first = client.put(f"/api/appraisal/reports/{report.id}/evaluations",
                       json={"items": [{"entry_id": entry_id, "grade": "competent"}]}, headers=employer_h)
    again = client.put(f"/api/appraisal/reports/{report.id}/evaluations",
                       json={"items": [{"entry_id": entry_id, "grade": "excellent", "comment": "复核后调整"}]},
                       headers=employer_h)
    assert first.status_code == again.status_code == 200
    assert [(i["grade"], i["comment"]) for i in again.json["items"]] == [("excellent", "复核后调整")]
    assert again.json["acknowledged_at"] is not None


def test_scheduled_run_starts_once_per_ended_period(session, tree, rendered):
    tree.district.settings = {"appraisal_schedule": ["quarter"]}
    session.commit()
    from datetime import date

    runs = appraisal.scheduled_runs(session, today=date(2026, 4, 2))
    assert len(runs) == 1 and runs[0].trigger == "schedule" and runs[0].period.label == "2026年第一季度"
    session.commit()
    assert appraisal.scheduled_runs(session, today=date(2026, 4, 3)) == []


def _bearer(app, session, actor):
    from tests.conftest import bearer
    from timebank.people.models import Person

    return bearer(app, session.get(Person, actor.person_id))


def test_a_portal_token_never_reaches_the_logs_in_full(app, client, session, tree, rendered, employer_contact,
                                                      caplog):
    """The request log and gunicorn's access log keep a few characters of the 30-day token, never all of it."""
    import logging
    import types

    from timebank.logs import AccessLogger, redact

    employer, actor = rendered
    report = _run(session, actor, tree)
    _contact, contact_h = employer_contact(employer)
    url = client.post(f"/api/appraisal/reports/{report.id}/portal-link", headers=contact_h).json["url"]
    path = url.removeprefix("http://testserver")
    token = path.rsplit("/", 1)[1]
    app.config["LOG_REQUESTS"] = True
    with caplog.at_level(logging.INFO):
        assert client.get(path).status_code == 200
    logged = [getattr(r, "fields", {}).get("path", "") for r in caplog.records]
    assert any("/api/appraisal/portal/" in p for p in logged)
    assert token not in caplog.text and all(token not in p for p in logged)

    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path + "?format=pdf", "SERVER_PROTOCOL": "HTTP/1.1",
               "PATH_INFO": path, "QUERY_STRING": "format=pdf", "HTTP_REFERER": url, "REMOTE_ADDR": "127.0.0.1"}
    from datetime import timedelta as td

    from gunicorn.config import Config

    access = AccessLogger(Config())
    atoms = access.atoms(types.SimpleNamespace(status="200 OK", sent=10, headers={}), {}, environ,
                         td(milliseconds=3))
    assert all(token not in str(atoms[k]) for k in ("r", "U", "f"))
    assert redact("/app/checkin?t=abcdefghijkl&x=1") == "/app/checkin?t=abcd…&x=1"
