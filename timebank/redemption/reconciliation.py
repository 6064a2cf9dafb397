"""Reconciliation with a merchant's own record (对账): the merchant uploads its CSV for a period; a worker
matches it against the captured redemptions of that period and reports what is missing on either side and
what differs. A malformed row is reported with its line number and skipped; nothing in the file can make
the job fail.

The CSV needs a header row with `redemption_id` and `points`; `reward_id` and `captured_at` are optional
(compared when present). Extra columns are ignored. UTF-8, with or without a BOM.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.errors import InvalidInput, NotFound
from timebank.ops import outbox
from timebank.people.access import Actor
from timebank.redemption import rewards
from timebank.redemption.models import MerchantReconciliation, ReconciliationStatus, Redemption, RedemptionStatus
from timebank.redemption.settlement import period_bounds

TOPIC = "merchant_reconciliation.run"
REQUIRED = ("redemption_id", "points")
OPTIONAL = ("reward_id", "captured_at")
MAX_LISTED = 1000  # per section of the report; the counts stay exact
MAX_CSV_BYTES = 5 * 1024 * 1024


def submit(session: Session, actor: Actor, merchant_id: int, *, start: date, end: date,
           csv_text: str) -> MerchantReconciliation:
    """Store the merchant's file and promise the matching job (the merchant itself or an admin over it)."""
    rewards.merchant_for_manage(session, actor, merchant_id)
    lo, hi = period_bounds(start, end)
    if not csv_text.strip():
        raise InvalidInput("empty_csv")
    if len(csv_text.encode("utf-8")) > MAX_CSV_BYTES:
        raise InvalidInput("csv_too_large")
    # NUL cannot be stored in PostgreSQL text; as U+FFFD its row is reported as malformed like any other.
    csv_text = csv_text.replace("\x00", "\ufffd")
    row = MerchantReconciliation(merchant_id=merchant_id, period_start=lo, period_end=hi, csv_text=csv_text,
                                 uploaded_by=actor.label, status=ReconciliationStatus.queued)
    session.add(row)
    session.flush()
    outbox.add(session, TOPIC, {"reconciliation_id": row.id}, dedupe_key=f"merchant_reconciliation:{row.id}")
    return row


def get(session: Session, actor: Actor, merchant_id: int, reconciliation_id: int) -> MerchantReconciliation:
    rewards.merchant_for_read(session, actor, merchant_id)
    row = session.get(MerchantReconciliation, reconciliation_id)
    if row is None or row.merchant_id != merchant_id:
        raise NotFound("reconciliation_not_found")
    return row


class _Report:
    def __init__(self) -> None:
        self.sections: dict[str, list] = {"malformed": [], "missing_in_ledger": [], "missing_in_merchant_record": [],
                                          "differing": []}
        self.counts = dict.fromkeys(self.sections, 0)

    def add(self, section: str, item: dict) -> None:
        self.counts[section] += 1
        if len(self.sections[section]) < MAX_LISTED:
            self.sections[section].append(item)


def _int(value: str, field: str) -> int:
    try:
        number = int(value.strip())
    except ValueError as exc:
        raise ValueError(f"{field} is not an integer: {value!r}") from exc
    if number <= 0:
        raise ValueError(f"{field} must be positive: {value!r}")
    return number


def _when(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"captured_at is not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:  # a till's local time
        parsed = parsed.replace(tzinfo=DISPLAY_TZ)
    return parsed


def parse(text: str, report: _Report) -> dict[int, dict]:
    """Rows by redemption id; anything unusable goes to `report` with its line number."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        report.add("malformed", {"line": 1, "error": f"no header row ({exc})" if str(exc) else "no header row"})
        return {}
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.add("malformed", {"line": 1, "error": f"header lacks column(s): {', '.join(missing)}"})
        return {}
    index = {name: header.index(name) for name in (*REQUIRED, *OPTIONAL) if name in header}
    rows: dict[int, dict] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.add("malformed", {"line": reader.line_num, "error": f"unreadable CSV: {exc}"})
            continue
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < len(header):
            report.add("malformed", {"line": line, "error": f"expected {len(header)} columns, got {len(cells)}"})
            continue
        try:
            rid = _int(cells[index["redemption_id"]], "redemption_id")
            item = {"line": line, "points": _int(cells[index["points"]], "points")}
            if "reward_id" in index and cells[index["reward_id"]].strip():
                item["reward_id"] = _int(cells[index["reward_id"]], "reward_id")
            if "captured_at" in index and cells[index["captured_at"]].strip():
                item["captured_at"] = _when(cells[index["captured_at"]])
        except ValueError as exc:
            report.add("malformed", {"line": line, "error": str(exc)})
            continue
        if rid in rows:
            report.add("malformed", {"line": line, "error": f"redemption {rid} already listed on line "
                                                            f"{rows[rid]['line']}"})
            continue
        rows[rid] = item
    return rows


def run(session: Session, reconciliation_id: int) -> dict | None:
    """Match one uploaded file (the worker; flushes). Re-running a finished one changes nothing."""
    row = session.get(MerchantReconciliation, reconciliation_id, with_for_update=True)
    if row is None or row.status == ReconciliationStatus.done:
        return None
    report = _Report()
    theirs = parse(row.csv_text, report)
    ours = {r.id: r for r in session.scalars(select(Redemption).where(
        Redemption.merchant_id == row.merchant_id, Redemption.status == RedemptionStatus.captured,
        Redemption.captured_at >= row.period_start, Redemption.captured_at < row.period_end))}
    matched = 0
    for rid, item in sorted(theirs.items()):
        red = ours.get(rid)
        if red is None:
            report.add("missing_in_ledger", {"line": item["line"], "redemption_id": rid, "points": item["points"]})
            continue
        diffs = {}
        if item["points"] != red.points:
            diffs["points"] = {"merchant": item["points"], "ledger": red.points}
        if "reward_id" in item and item["reward_id"] != red.reward_id:
            diffs["reward_id"] = {"merchant": item["reward_id"], "ledger": red.reward_id}
        if "captured_at" in item and item["captured_at"].astimezone(DISPLAY_TZ).date() != \
                red.captured_at.astimezone(DISPLAY_TZ).date():
            diffs["captured_on"] = {"merchant": item["captured_at"].astimezone(DISPLAY_TZ).date().isoformat(),
                                    "ledger": red.captured_at.astimezone(DISPLAY_TZ).date().isoformat()}
        if diffs:
            report.add("differing", {"line": item["line"], "redemption_id": rid, "fields": diffs})
        else:
            matched += 1
    for rid, red in sorted(ours.items()):
        if rid not in theirs:
            report.add("missing_in_merchant_record", {"redemption_id": rid, "points": red.points,
                                                      "captured_at": red.captured_at.isoformat()})
    result = {
        "matched": matched,
        "counts": report.counts,
        **report.sections,
        "totals": {"ledger_points": sum(r.points for r in ours.values()),
                   "merchant_points": sum(i["points"] for i in theirs.values())},
        "balanced": matched == len(ours) == len(theirs) and not report.counts["malformed"],
    }
    row.report = result
    row.status = ReconciliationStatus.done
    row.finished_at = utcnow()
    session.flush()
    return result
