"""志愿者 app, the records: points and hours history (filters, keyset paging), a period's statement (page, PDF,
CSV), the community's honour board (光荣榜) and 更多 (the tabs that do not fit a phone's bar).

Reads only, over the same read models as the API: `accounts.balances` (the ledger history), `hours.queries`
(sessions, hours by month, the honour board) and `ledger.queries.statement`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import Blueprint, request, url_for

from timebank import csvfile, labels, ledger, messages
from timebank.accounts import balances
from timebank.appraisal import render as pdf_render
from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.errors import DomainError
from timebank.extensions import db
from timebank.hours import queries as hours_views
from timebank.http import attachment
from timebank.ledger import queries as ledger_queries
from timebank.messages import describe
from timebank.pages import app as app_pages
from timebank.pages import nav, page_actor
from timebank.people import orgs
from timebank.people.models import Person

bp = Blueprint("app_records", __name__, url_prefix="/app")
volunteer = app_pages.volunteer
render = app_pages.render

PAGE = 20
# What the history filter offers: the ledger and the kinds of entry a volunteer meets.
BOOKS = {"points": ledger.Ledger.points, "minutes": ledger.Ledger.minutes}
KINDS = ("credit", "reversal", "capture", "release", "hold", "gift", "expiry", "adjustment")


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(0), DISPLAY_TZ).astimezone(UTC)


def _period(text: str | None) -> hours_views.Period | None:
    """A period typed as 2025, 2025-H1, 2025-Q3 or 2025-07 (None: all time); a bad one is refused."""
    return hours_views.parse_period(text.strip()) if text and text.strip() else None


def _this_month() -> str:
    return utcnow().astimezone(DISPLAY_TZ).strftime("%Y-%m")


# --- history ---------------------------------------------------------------------------------------------------


@bp.get("/history")
@volunteer
def history():
    """Points or hours history, newest first, filtered by kind and period, 20 a page (keyset: `before`)."""
    book = request.args.get("book", "points")
    book = book if book in BOOKS else "points"
    kind = request.args.get("kind") or ""
    kind = kind if kind in KINDS else ""
    period_text = request.args.get("period", "")
    before = request.args.get("before", type=int)
    problem, rows, more = None, [], None
    try:
        period = _period(period_text)
    except DomainError as exc:
        period, problem = None, describe(exc)
    account_id = balances.account_id(db.session, page_actor().person_id, BOOKS[book])
    if account_id is not None and problem is None:
        found = balances.history(
            db.session, account_id, limit=PAGE + 1, before_id=before,
            start=_utc(period.start) if period else None, end=_utc(period.end) if period else None,
            codes=[int(ledger.Code[kind])] if kind else None)
        rows, more = found[:PAGE], (found[PAGE - 1][0].id if len(found) > PAGE else None)
    filters = {"book": book, "kind": kind, "period": period_text}
    next_url = url_for("app_records.history", before=more, **{k: v for k, v in filters.items() if v}) if more \
        else None
    return render("pages/app/history.html", rows=rows, book=book, filters=filters, kinds=KINDS,
                  kind_labels=labels.TRANSFER_CODES, problem=problem, next_url=next_url,
                  first_page=before is not None)


# --- statement -------------------------------------------------------------------------------------------------


def statement_document(person: Person, period: hours_views.Period) -> dict:
    """The period's statement: opening and closing balances, every entry, and the services credited."""
    start, end = _utc(period.start), _utc(period.end)
    ids = balances.account_ids(db.session, person.id)
    books = {}
    for name, book in BOOKS.items():
        account_id = ids.get(book)
        if account_id is None:
            books[name] = {"opening": 0, "closing": 0, "credits": 0, "debits": 0, "lines": []}
            continue
        st = ledger_queries.statement(db.session, account_id, start=start, end=end)
        books[name] = {"opening": st.opening.net, "closing": st.closing.net, "credits": st.credits,
                       "debits": st.debits,
                       "lines": [(t, ledger_queries.signed_amount(t, account_id)) for t in st.lines]}
    services = hours_views.credited_services(db.session, person.id, period)
    return {"person": person.name, "period": period, "books": books, "services": services,
            "issued_at": utcnow()}


def _entry_rows(doc: dict) -> list[list]:
    rows = []
    for name in ("points", "minutes"):
        for t, amount in doc["books"][name]["lines"]:
            if amount == 0:
                continue
            rows.append([t.created_at, labels.LEDGERS[name], labels.TRANSFER_CODES[ledger.Code(t.code).name],
                         amount])
    return sorted(rows, key=lambda r: r[0])


def _period_label(period: hours_views.Period) -> str:
    last = date.fromordinal(period.end.toordinal() - 1)
    return f"{period.start:%Y年%m月%d日} 至 {last:%Y年%m月%d日}"


@bp.get("/statement")
@volunteer
def statement():
    """The statement of a period on screen, with its PDF and CSV downloads."""
    period_text = request.args.get("period") or _this_month()
    fmt = request.args.get("format", "html")
    try:
        period = _period(period_text)
    except DomainError as exc:
        return render("pages/app/statement.html", doc=None, problem=describe(exc), period_text=period_text,
                      this_month=_this_month()), 422
    person = db.session.get(Person, page_actor().person_id)
    doc = statement_document(person, period)
    name = f"爱心银行对账单-{period.label}"
    if fmt == "csv":
        return attachment(statement_csv(doc), "text/csv; charset=utf-8", f"{name}.csv")
    if fmt == "pdf":
        return attachment(statement_pdf(doc), "application/pdf", f"{name}.pdf")
    return render("pages/app/statement.html", doc=doc, problem=None, period_text=period_text,
                  entries=_entry_rows(doc), period_label=_period_label(period), this_month=_this_month())


STATEMENT_HEADERS = ("时间（北京时间）", "账本", "类型", "变动", "说明")


def statement_csv(doc: dict) -> bytes:
    rows = [[when, book, kind, amount, ""] for when, book, kind, amount in _entry_rows(doc)]
    for s in doc["services"]:
        rows.append([s["served_on"], "服务记录", s["category"], s["minutes"], f"{s['task']}：{s['points']} 积分"])
    p, m = doc["books"]["points"], doc["books"]["minutes"]
    rows.append(["", "积分", "期初余额", p["opening"], ""])
    rows.append(["", "积分", "期末余额", p["closing"], ""])
    rows.append(["", "服务时长", "期初（分钟）", m["opening"], ""])
    rows.append(["", "服务时长", "期末（分钟）", m["closing"], ""])
    return csvfile.write(STATEMENT_HEADERS, rows)


def statement_pdf(doc: dict) -> bytes:
    p, m = doc["books"]["points"], doc["books"]["minutes"]
    facts = [("姓名", doc["person"]), ("期间", _period_label(doc["period"])),
             ("积分", f"期初 {p['opening']}，收入 {p['credits']}，支出 {p['debits']}，期末 {p['closing']}"),
             ("服务时长", f"期初 {pdf_render.hours(m['opening'])} 小时，"
                      f"本期入账 {pdf_render.hours(m['credits'])} 小时，期末 {pdf_render.hours(m['closing'])} 小时"),
             ("出具时间", csvfile.beijing_minute(doc["issued_at"]) + "（北京时间）")]
    entries = [[csvfile.beijing_minute(w), b, k, f"{a:+d}"] for w, b, k, a in _entry_rows(doc)]
    services = [[s["served_on"].isoformat(), s["task"], s["category"], str(s["minutes"]), str(s["points"])]
                for s in doc["services"]]
    return pdf_render.render_table_pdf(
        title="爱心银行个人对账单", subtitle=_period_label(doc["period"]), facts=facts,
        tables=[("积分与服务时长明细", ["时间", "账本", "类型", "变动"], entries),
                ("本期入账的志愿服务", ["日期", "任务", "类别", "分钟", "积分"], services)])


# --- honour board ----------------------------------------------------------------------------------------------


@bp.get("/honour")
@volunteer
def honour_board():
    """光荣榜: the volunteers of my community with the most credited hours in a period (default: this year)."""
    period_text = request.args.get("period") or str(utcnow().astimezone(DISPLAY_TZ).year)
    person = db.session.get(Person, page_actor().person_id)
    rows, problem, community = [], None, None
    try:
        period = _period(period_text)
        if person.home_org is None:
            problem = messages.render("home_org_required")
        else:
            community = orgs.community_of(db.session, person.home_org)
            rows = hours_views.honour_board(db.session, community.id, period, limit=20)
    except DomainError as exc:
        problem = describe(exc)
    return render("pages/app/honour.html", rows=rows, problem=problem, community=community,
                  period_text=period_text, me=person.id)


# --- 更多 -------------------------------------------------------------------------------------------------------


@bp.get("/more")
@volunteer
def more():
    """The tabs that do not fit the phone's bar of five."""
    return render("pages/app/more.html", more_tabs=nav.more_tabs("app"))
