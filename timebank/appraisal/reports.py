"""Appraisal periods and runs (一信一函), reading reports, acknowledgement and evaluation (双评议).

A run of a district's period opens one report per employer and one entry per in-service member, then
promises the rendering through the outbox: topics `appraisal.render.<shard>` (several, so two workers
render in parallel) carry one message per report. Rendering a report computes its members' figures from
the hours records and the ledger (`appraisal_metrics`), stores them on the entries — a member whose records
disagree with the ledger fails alone, with the reason — renders the PDF, and queues its delivery.
Progress is read from the entries at any time.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import unicodedata
from datetime import date
from statistics import mean

from sqlalchemy import func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.appraisal import metrics as appraisal_metrics
from timebank.appraisal import render as appraisal_render
from timebank.appraisal import vanguard
from timebank.appraisal.models import (
    GRADE_LABELS,
    AppraisalEntry,
    AppraisalPeriod,
    AppraisalReport,
    AppraisalRun,
    DeliveryStatus,
    EmployerEvaluation,
    EntryStatus,
    PeriodKind,
    ReportDelivery,
    ReportIn,
    ReportInStatus,
    ReportStatus,
    RunStatus,
)
from timebank.appraisal.report_in import local_today
from timebank.cobuilding import queries as cobuilding_queries
from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound, get_or_404
from timebank.ops import audit, outbox
from timebank.people import orgs
from timebank.people.access import ADMIN_ROLES, READ_ROLES, Actor, org_scope_clause
from timebank.people.models import Branch, Employer, Org, OrgKind, PartyMember, PartyMemberStatus, Person, Role
from timebank.people.persons import mask_phone
from timebank.projects import queries as projects_queries

log = logging.getLogger("timebank.appraisal")

RENDER_SHARDS = 4
RENDER_TOPIC_PREFIX = "appraisal.render."
RUN_ROLES = frozenset({Role.district_admin, Role.street_admin})
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand
QUARTERS = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


def render_topic(report_id: int) -> str:
    return f"{RENDER_TOPIC_PREFIX}{report_id % RENDER_SHARDS}"


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


# --- periods ------------------------------------------------------------------------------------------------


def period_dates(kind: PeriodKind, year: int, number: int = 1) -> tuple[date, date, str]:
    if kind == PeriodKind.year:
        return date(year, 1, 1), date(year, 12, 31), f"{year}年度"
    if kind == PeriodKind.half_year:
        if number not in (1, 2):
            raise InvalidInput("invalid_period", variant="half_year")
        return ((date(year, 1, 1), date(year, 6, 30), f"{year}年上半年") if number == 1
                else (date(year, 7, 1), date(year, 12, 31), f"{year}年下半年"))
    if number not in QUARTERS:
        raise InvalidInput("invalid_period", variant="quarter")
    start = date(year, 3 * number - 2, 1)
    end = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1), f"{year}年{QUARTERS[number]}"


def _district(session: Session, district_id: int) -> Org:
    org = orgs.get(session, district_id)
    if org.kind != OrgKind.district:
        raise InvalidInput("not_a_district")
    return org


def create_period(session: Session, actor: Actor, *, district_id: int, kind: PeriodKind, year: int,
                  number: int = 1) -> AppraisalPeriod:
    district = _district(session, district_id)
    actor.require_on(RUN_ROLES, district.path)
    starts_on, ends_on, label = period_dates(kind, year, number)
    period = AppraisalPeriod(district_id=district.id, district_path=district.path, kind=kind, starts_on=starts_on,
                             ends_on=ends_on, label=label)
    session.add(period)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("period_exists") from exc
    audit.record(session, actor, "appraisal.period_create", "appraisal_period", period.id, org_path=district.path,
                 after={"kind": str(kind), "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()})
    return period


def list_periods(session: Session, actor: Actor, district_id: int) -> list[AppraisalPeriod]:
    district = _district(session, district_id)
    actor.require_on(RUN_ROLES | {Role.auditor}, district.path)
    return list(session.scalars(select(AppraisalPeriod).where(AppraisalPeriod.district_id == district.id)
                                .order_by(AppraisalPeriod.starts_on.desc(), AppraisalPeriod.id)))


# --- runs ---------------------------------------------------------------------------------------------------


def _members_of_district(session: Session, district: Org) -> list[tuple[int, int, int]]:
    """(party_member_id, person_id, employer_id) of in-service members whose employer is registered in the
    district or who reported in to one of its communities."""
    base = (select(PartyMember.id, PartyMember.person_id, PartyMember.employer_id)
            .where(PartyMember.status == PartyMemberStatus.in_service, PartyMember.employer_id.is_not(None)))
    by_employer = base.join(Employer, Employer.id == PartyMember.employer_id).join(
        Org, Org.id == Employer.org_id).where(Org.path.startswith(district.path, autoescape=True))
    by_report_in = base.where(PartyMember.id.in_(
        select(ReportIn.party_member_id).where(ReportIn.community_path.startswith(district.path, autoescape=True),
                                               ReportIn.status != ReportInStatus.rejected)))
    rows = {r[0]: (r[0], r[1], r[2]) for r in session.execute(by_employer)}
    rows.update({r[0]: (r[0], r[1], r[2]) for r in session.execute(by_report_in)})
    return sorted(rows.values())


def start_run(session: Session, actor: Actor, period_id: int, *, trigger: str = "admin") -> AppraisalRun:
    """Open the run, its reports (one per employer) and entries (one per member); promise the rendering."""
    period = get_or_404(session, AppraisalPeriod, period_id, "period_not_found")
    actor.require_on(RUN_ROLES, period.district_path)
    district = period.district
    live = session.scalar(select(AppraisalRun.id).where(AppraisalRun.period_id == period.id,
                                                        AppraisalRun.status != RunStatus.done))
    if live is not None:
        raise Conflict("run_in_progress")
    members = _members_of_district(session, district)
    run = AppraisalRun(period_id=period.id, district_id=district.id, district_path=district.path,
                       status=RunStatus.queued, started_by=actor.label, trigger=trigger,
                       weights=vanguard.weights_for(session, district), total_members=len(members))
    session.add(run)
    session.flush()
    # A unit reported in to one of the district's communities (单位报到) gets its letter even without members.
    units = cobuilding_queries.employers_reported_in(session, district_path=district.path,
                                                     starts_on=period.starts_on, ends_on=period.ends_on)
    employer_ids = sorted({employer_id for _m, _p, employer_id in members} | units)
    reports = [AppraisalReport(run_id=run.id, employer_id=eid, district_path=district.path,
                               verification_code=new_code(), status=ReportStatus.pending,
                               member_count=sum(1 for m in members if m[2] == eid)) for eid in employer_ids]
    session.add_all(reports)
    session.flush()
    report_of = {r.employer_id: r.id for r in reports}
    if members:
        session.execute(insert(AppraisalEntry), [
            {"run_id": run.id, "report_id": report_of[eid], "party_member_id": mid, "person_id": pid,
             "status": EntryStatus.pending} for mid, pid, eid in members])
    run.total_reports = len(reports)
    for report in reports:
        outbox.add(session, render_topic(report.id), {"report_id": report.id},
                   dedupe_key=f"appraisal:render:{report.id}")
    if not reports:
        run.status, run.finished_at = RunStatus.done, utcnow()
    audit.record(session, actor, "appraisal.run_start", "appraisal_run", run.id, org_path=district.path,
                 after={"period_id": period.id, "members": len(members), "employers": len(reports),
                        "trigger": trigger})
    return run


def get_run(session: Session, actor: Actor, run_id: int) -> AppraisalRun:
    run = get_or_404(session, AppraisalRun, run_id, "run_not_found")
    actor.require_on(RUN_ROLES | {Role.auditor}, run.district_path)
    return run


def progress(session: Session, actor: Actor, run_id: int) -> dict:
    """done / total / errors, read from the entries while the workers render."""
    run = get_run(session, actor, run_id)
    counts = dict(session.execute(select(AppraisalEntry.status, func.count()).where(AppraisalEntry.run_id == run.id)
                                  .group_by(AppraisalEntry.status)).all())
    reports = dict(session.execute(select(AppraisalReport.status, func.count())
                                   .where(AppraisalReport.run_id == run.id).group_by(AppraisalReport.status)).all())
    done, failed = counts.get(EntryStatus.done, 0), counts.get(EntryStatus.failed, 0)
    return {"id": run.id, "period_id": run.period_id, "period_label": run.period.label, "status": str(run.status),
            "trigger": run.trigger, "total": run.total_members, "done": done + failed, "errors": failed,
            "pending": counts.get(EntryStatus.pending, 0), "reports_total": run.total_reports,
            "reports_rendered": reports.get(ReportStatus.rendered, 0), "weights": run.weights,
            "created_at": run.created_at, "finished_at": run.finished_at}


def run_errors(session: Session, actor: Actor, run_id: int) -> list[dict]:
    run = get_run(session, actor, run_id)
    rows = session.execute(select(AppraisalEntry.id, AppraisalEntry.party_member_id, AppraisalEntry.report_id,
                                  AppraisalEntry.error)
                           .where(AppraisalEntry.run_id == run.id, AppraisalEntry.status == EntryStatus.failed)
                           .order_by(AppraisalEntry.id)).all()
    return [{"entry_id": i, "party_member_id": m, "report_id": r, "error": e or ""} for i, m, r, e in rows]


def _finish_run_if_done(session: Session, run_id: int) -> None:
    """Lock the run row, then count: the last report to finish (in any worker) marks the run done."""
    run = session.get(AppraisalRun, run_id, with_for_update=True, populate_existing=True)
    pending = session.scalar(select(func.count()).select_from(AppraisalReport).where(
        AppraisalReport.run_id == run_id, AppraisalReport.status == ReportStatus.pending))
    if pending == 0 and run.status != RunStatus.done:
        run.status, run.finished_at = RunStatus.done, utcnow()
    elif run.status == RunStatus.queued:
        run.status = RunStatus.running


# --- rendering one report -----------------------------------------------------------------------------------


def process_report(session: Session, report_id: int, *, base_url: str) -> AppraisalReport | None:
    """Compute the members' figures and render the letter (`delivery.render_and_queue` then sends it).
    Idempotent: a rendered report is left alone. An unexpected failure fails this report (and its pending
    entries) with the reason."""
    report = session.get(AppraisalReport, report_id)
    if report is None or report.status != ReportStatus.pending:
        return report
    try:
        with session.begin_nested():
            _compute_entries(session, report)
            document = report_document(session, report, base_url=base_url)
            pdf = appraisal_render.render_pdf(document)
            report.pdf, report.pdf_sha256 = pdf, hashlib.sha256(pdf).hexdigest()
            report.status, report.rendered_at, report.error = ReportStatus.rendered, utcnow(), None
            session.flush()
    except Exception as exc:  # noqa: BLE001 - one report's failure must not stop the run
        log.exception("appraisal report failed", extra={"fields": {"report_id": report_id}})
        session.expire_all()
        report = session.get(AppraisalReport, report_id)
        reason = f"{type(exc).__name__}: {exc}"[:480]
        report.status, report.error = ReportStatus.failed, reason
        for entry in session.scalars(select(AppraisalEntry).where(AppraisalEntry.report_id == report_id,
                                                                  AppraisalEntry.status == EntryStatus.pending)):
            entry.status, entry.error = EntryStatus.failed, f"report_failed: {reason}"
        session.flush()
    _finish_run_if_done(session, report.run_id)
    return report


def _compute_entries(session: Session, report: AppraisalReport) -> None:
    run = report.run
    period = run.period
    entries = list(session.scalars(select(AppraisalEntry).where(AppraisalEntry.report_id == report.id)
                                   .order_by(AppraisalEntry.id)))
    members = [appraisal_metrics.Member(person_id=e.person_id, party_member_id=e.party_member_id) for e in entries]
    late_hours = int(orgs.setting(session, period.district, "late_withdrawal_hours",
                                  appraisal_metrics.DEFAULT_LATE_WITHDRAWAL_HOURS))
    results = appraisal_metrics.compute(session, members, starts_on=period.starts_on, ends_on=period.ends_on,
                                        late_withdrawal_hours=late_hours)
    community_ids = {r["report_in"]["community_id"] for r in results.values()
                     if isinstance(r, dict) and r["report_in"]["community_id"]}
    paths = (dict(session.execute(select(Org.id, Org.path).where(Org.id.in_(community_ids))).all())
             if community_ids else {})
    now = utcnow()
    for entry in entries:
        result = results.get(entry.person_id)
        entry.computed_at = now
        try:
            if isinstance(result, Exception):
                raise result
            entry.vanguard_index = vanguard.index(result, run.weights)
        except (appraisal_metrics.MemberError, KeyError, TypeError, ValueError) as exc:
            entry.status, entry.error = EntryStatus.failed, str(exc)[:500]
            entry.metrics = entry.transfer_ids = entry.attendance_ids = None
            continue
        entry.metrics = result
        entry.transfer_ids = result["trace"]["transfer_ids"]
        entry.attendance_ids = result["trace"]["attendance_ids"]
        entry.community_path = paths.get(result["report_in"]["community_id"])
        entry.status, entry.error = EntryStatus.done, None
    report.member_count = len(entries)
    session.flush()


def report_document(session: Session, report: AppraisalReport, *, base_url: str) -> dict:
    """Everything a report says, as one dict: the PDF, CSV and JSON are all drawn from it."""
    run = report.run
    period = run.period
    rows = session.execute(
        select(AppraisalEntry, Person.name, Person.phone, Branch.name)
        .join(PartyMember, PartyMember.id == AppraisalEntry.party_member_id)
        .join(Person, Person.id == AppraisalEntry.person_id)
        .outerjoin(Branch, Branch.id == PartyMember.branch_id)
        .where(AppraisalEntry.report_id == report.id).order_by(AppraisalEntry.id)).all()
    members = [{"entry_id": e.id, "party_member_id": e.party_member_id, "name": name,
                "phone_masked": mask_phone(phone), "branch": branch, "status": str(e.status), "error": e.error,
                "metrics": e.metrics, "vanguard_index": e.vanguard_index} for e, name, phone, branch in rows]
    done = [m for m in members if m["status"] == "done"]
    # 项目认领与微心愿: the projects the unit holds in the district and the micro-wishes it fulfilled.
    projects = projects_queries.letter_section(session, report.employer_id, district_path=run.district_path,
                                               starts_on=period.starts_on, ends_on=period.ends_on)
    summary = {
        "members": len(members),
        "reported_in": sum(1 for m in done if m["metrics"]["report_in"]["status"] == "accepted"),
        "minutes_net": sum(m["metrics"]["minutes"]["net"] for m in done),
        "tasks_individual": sum(m["metrics"]["tasks"]["individual"] for m in done),
        "tasks_organisation": sum(m["metrics"]["tasks"]["organisation"] for m in done),
        "micro_wishes": sum(m["metrics"]["micro_wishes"] for m in done),
        "vanguard_mean": round(mean(m["vanguard_index"] for m in done), 1) if done else None,
        "failed": len(members) - len(done),
        "projects_claimed": len(projects["projects"]),
        "projects_accepted": projects["projects_accepted"],
        "wishes_fulfilled": projects["wishes_fulfilled"],
        "people_helped": projects["people_helped"],
    }
    issued = report.rendered_at or utcnow()
    return {
        "kind": "appraisal_report",
        "report_id": report.id,
        "issuer": period.district.name,
        "employer": {"id": report.employer_id, "name": report.employer.name},
        "period": {"id": period.id, "kind": str(period.kind), "label": period.label,
                   "starts_on": period.starts_on.isoformat(), "ends_on": period.ends_on.isoformat()},
        "run_id": run.id,
        "issued_at": issued.isoformat(),
        "issued_on": local_today(issued).isoformat(),
        "verification": {"code": report.verification_code,
                         "url": f"{base_url.rstrip('/')}/verify/{report.verification_code}"},
        "weights": run.weights,
        "summary": summary,
        "members": members,
        # 单位报到与共建: the unit's own report-ins, resources, contributions and the communities' evaluation.
        "cobuilding": cobuilding_queries.letter_section(session, report.employer_id, district_path=run.district_path,
                                                        starts_on=period.starts_on, ends_on=period.ends_on),
        "projects": projects,
    }


# --- reading, acknowledging, evaluating ---------------------------------------------------------------------


def get_report(session: Session, actor: Actor, report_id: int) -> AppraisalReport:
    """The employer reads its own reports; district/street admins and auditors read their district's."""
    report = get_or_404(session, AppraisalReport, report_id, "report_not_found")
    if report.employer_id in actor.employer_ids():
        return report
    actor.require_on(RUN_ROLES | {Role.auditor}, report.district_path)
    return report


def read_summary(session: Session, actor: Actor, report_id: int) -> dict:
    """A report's status, code and deliveries (no personal data), read as an audited access."""
    report = get_report(session, actor, report_id)
    audit.record(session, actor, "appraisal.report_view", "appraisal_report", report.id,
                 org_path=report.district_path)
    return report_summary(session, report)


def list_reports(session: Session, actor: Actor, *, run_id: int | None, employer_id: int | None) -> list:
    """Reports of a run or of an employer. An employer's key (or a contact of one unit only) need not name
    its own unit: the filter defaults to it."""
    if run_id is None and employer_id is None and len(actor.employer_ids()) == 1:
        employer_id = next(iter(actor.employer_ids()))
    if run_id is None and employer_id is None:
        raise InvalidInput("filter_required")
    stmt = select(AppraisalReport).order_by(AppraisalReport.id)
    if run_id is not None:
        stmt = stmt.where(AppraisalReport.run_id == run_id)
    if employer_id is not None:
        stmt = stmt.where(AppraisalReport.employer_id == employer_id)
    own = actor.employer_ids()
    scope = org_scope_clause(actor, RUN_ROLES | {Role.auditor}, AppraisalReport.district_path)
    stmt = stmt.where(or_(AppraisalReport.employer_id.in_(own), scope) if own else scope)
    return list(session.scalars(stmt.limit(1000)))


def report_summary(session: Session, report: AppraisalReport) -> dict:
    deliveries = list(session.scalars(select(ReportDelivery).where(ReportDelivery.report_id == report.id)
                                      .order_by(ReportDelivery.id)))
    return {"id": report.id, "run_id": report.run_id, "employer_id": report.employer_id,
            "employer_name": report.employer.name, "period_label": report.run.period.label,
            "status": str(report.status), "verification_code": report.verification_code,
            "member_count": report.member_count, "pdf_sha256": report.pdf_sha256, "rendered_at": report.rendered_at,
            "acknowledged_at": report.acknowledged_at, "error": report.error, "deliveries": deliveries}


MIME = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}


def document_bytes(session: Session, report: AppraisalReport, fmt: str, *, base_url: str) -> tuple[bytes, str, str]:
    """(content, mimetype, file name) of the report in `fmt`; the PDF is the stored, issued one."""
    if report.status != ReportStatus.rendered:
        raise Conflict("report_not_rendered")
    name = f"appraisal-{report.run_id}-{report.employer_id}.{fmt}"
    if fmt == "pdf":
        return report.pdf, MIME["pdf"], name
    document = report_document(session, report, base_url=base_url)
    data = appraisal_render.render_csv(document) if fmt == "csv" else appraisal_render.render_json(document)
    return data, MIME[fmt], name


def read_document(session: Session, actor: Actor, report_id: int, fmt: str, *, base_url: str,
                  via: str = "api") -> tuple[bytes, str, str]:
    """An audited read of a report (every access leaves an audit entry)."""
    report = get_report(session, actor, report_id)
    result = document_bytes(session, report, fmt, base_url=base_url)
    audit.record(session, actor, "appraisal.report_read", "appraisal_report", report.id,
                 org_path=report.district_path, after={"format": fmt, "via": via})
    return result


def acknowledge(session: Session, actor: Actor, report_id: int) -> AppraisalReport:
    report = get_or_404(session, AppraisalReport, report_id, "report_not_found")
    actor.require_employer(report.employer_id)
    if report.status != ReportStatus.rendered:
        raise Conflict("report_not_rendered")
    if report.acknowledged_at is None:
        report.acknowledged_at, report.acknowledged_by = utcnow(), actor.label
        for delivery in session.scalars(select(ReportDelivery).where(ReportDelivery.report_id == report.id,
                                                                     ReportDelivery.status == DeliveryStatus.sent)):
            delivery.status = DeliveryStatus.acknowledged
        audit.record(session, actor, "appraisal.report_acknowledge", "appraisal_report", report.id,
                     org_path=report.district_path)
    return report


def evaluate(session: Session, actor: Actor, report_id: int, items: list[dict]) -> list[dict]:
    """双评议: the employer grades each member (upsert); evaluating also acknowledges the report."""
    report = acknowledge(session, actor, report_id)
    entry_ids = [i["entry_id"] for i in items]
    if len(set(entry_ids)) != len(entry_ids):
        raise InvalidInput("duplicate_entry")
    entries = {e.id: e for e in session.scalars(select(AppraisalEntry).where(AppraisalEntry.id.in_(entry_ids)))}
    missing = [i for i in entry_ids if i not in entries or entries[i].report_id != report.id]
    if missing:
        raise NotFound("entry_not_in_report")
    existing = {ev.entry_id: ev for ev in session.scalars(
        select(EmployerEvaluation).where(EmployerEvaluation.entry_id.in_(entry_ids)))}
    now = utcnow()
    for item in items:
        ev = existing.get(item["entry_id"])
        before = None
        if ev is None:
            ev = EmployerEvaluation(entry_id=item["entry_id"], report_id=report.id, employer_id=report.employer_id,
                                    grade=item["grade"], comment=item["comment"], evaluated_by=actor.label,
                                    created_at=now, updated_at=now)
            session.add(ev)
        else:
            before = {"grade": str(ev.grade), "comment": ev.comment}
            ev.grade, ev.comment, ev.evaluated_by, ev.updated_at = item["grade"], item["comment"], actor.label, now
        audit.record(session, actor, "appraisal.evaluate", "appraisal_entry", item["entry_id"],
                     org_path=report.district_path, before=before,
                     after={"grade": str(item["grade"]), "comment": item["comment"]})
    session.flush()
    return evaluations(session, actor, report_id, audited=False)["items"]


def evaluations(session: Session, actor: Actor, report_id: int, *, audited: bool = True) -> dict:
    """The employer's evaluations: the employer sees all of its own; district/street admins their district's;
    a community's admins the members who reported in to their community."""
    report = get_or_404(session, AppraisalReport, report_id, "report_not_found")
    stmt = (select(EmployerEvaluation, AppraisalEntry.party_member_id, Person.name)
            .join(AppraisalEntry, AppraisalEntry.id == EmployerEvaluation.entry_id)
            .join(Person, Person.id == AppraisalEntry.person_id)
            .where(EmployerEvaluation.report_id == report.id).order_by(EmployerEvaluation.entry_id))
    if report.employer_id not in actor.employer_ids() and not actor.has_role_on(RUN_ROLES | {Role.auditor},
                                                                                report.district_path):
        if not actor.paths_for(READ_ROLES):
            raise Forbidden("out_of_scope", variant="other_employer")
        stmt = stmt.where(org_scope_clause(actor, ADMIN_ROLES | {Role.auditor}, AppraisalEntry.community_path))
    items = [{"entry_id": ev.entry_id, "party_member_id": member_id, "name": name, "grade": ev.grade,
              "grade_label": GRADE_LABELS[ev.grade], "comment": ev.comment, "evaluated_by": ev.evaluated_by,
              "updated_at": ev.updated_at} for ev, member_id, name in session.execute(stmt)]
    if audited:
        audit.record(session, actor, "appraisal.evaluations_read", "appraisal_report", report.id,
                     org_path=report.district_path, after={"items": len(items)})
    return {"report_id": report.id, "acknowledged_at": report.acknowledged_at, "items": items}


def my_entries(session: Session, actor: Actor) -> list[dict]:
    """A member's own figures in every run, with the employer's grade when it has been given."""
    if actor.person_id is None:
        raise Forbidden("not_a_person")
    rows = session.execute(
        select(AppraisalEntry, AppraisalPeriod.label, EmployerEvaluation.grade)
        .join(AppraisalRun, AppraisalRun.id == AppraisalEntry.run_id)
        .join(AppraisalPeriod, AppraisalPeriod.id == AppraisalRun.period_id)
        .outerjoin(EmployerEvaluation, EmployerEvaluation.entry_id == AppraisalEntry.id)
        .where(AppraisalEntry.person_id == actor.person_id).order_by(AppraisalEntry.id.desc()).limit(100))
    return [{"entry_id": e.id, "run_id": e.run_id, "period_label": label, "status": str(e.status),
             "vanguard_index": e.vanguard_index, "metrics": e.metrics,
             "grade": GRADE_LABELS[grade] if grade else None} for e, label, grade in rows]


def normalise_code(code: str) -> str:
    """A verification code as people type it — any case, spaces, dashes or none, full-width characters —
    in the printed form XXXX-XXXX-XXXX-XXXX (anything else comes back cleaned but unchanged in length)."""
    cleaned = "".join(ch for ch in unicodedata.normalize("NFKC", code or "").upper() if ch.isalnum())
    if len(cleaned) == 16:
        return "-".join(cleaned[i:i + 4] for i in range(0, 16, 4))
    return cleaned[:64]


def verify_code(session: Session, code: str) -> dict:
    """Public: is this code one we issued, and what does it certify? No personal data."""
    normalised = normalise_code(code)
    report = session.scalar(select(AppraisalReport).where(AppraisalReport.verification_code == normalised))
    if report is None or report.status != ReportStatus.rendered:
        return {"genuine": False, "code": normalised}
    period = report.run.period
    return {"genuine": True, "code": normalised, "issuer": period.district.name, "employer": report.employer.name,
            "period": period.label, "member_count": report.member_count, "issued_at": report.rendered_at,
            "pdf_sha256": report.pdf_sha256}


def _previous_period(kind: PeriodKind, today: date) -> tuple[int, int]:
    """(year, number) of the last period of `kind` that ended before `today`."""
    if kind == PeriodKind.year:
        return today.year - 1, 1
    if kind == PeriodKind.half_year:
        return (today.year - 1, 2) if today.month <= 6 else (today.year, 1)
    quarter = (today.month - 1) // 3 + 1
    return (today.year - 1, 4) if quarter == 1 else (today.year, quarter - 1)


def scheduled_runs(session: Session, *, today: date | None = None) -> list[AppraisalRun]:
    """Cron: for each district whose `appraisal_schedule` setting names period kinds (e.g. ["quarter",
    "year"]), start a run of the last ended period of each kind unless one exists."""
    from timebank.people.access import SYSTEM

    today = today or local_today()
    started = []
    for district in session.scalars(select(Org).where(Org.kind == OrgKind.district).order_by(Org.id)):
        for kind_name in orgs.setting(session, district, "appraisal_schedule", []) or []:
            kind = PeriodKind(kind_name)
            year, number = _previous_period(kind, today)
            starts_on, _ends, _label = period_dates(kind, year, number)
            period = session.scalar(select(AppraisalPeriod).where(
                AppraisalPeriod.district_id == district.id, AppraisalPeriod.kind == kind,
                AppraisalPeriod.starts_on == starts_on))
            if period is None:
                period = create_period(session, SYSTEM, district_id=district.id, kind=kind, year=year,
                                       number=number)
            elif session.scalar(select(AppraisalRun.id).where(AppraisalRun.period_id == period.id)) is not None:
                continue
            started.append(start_run(session, SYSTEM, period.id, trigger="schedule"))
    return started
