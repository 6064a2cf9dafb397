"""Bulk import of people (批量导入): volunteers, and in-service party members with their employer and branch, from
a spreadsheet — XLSX (read in openpyxl's streaming mode) or CSV (UTF-8 with or without a BOM, or GBK/GB18030 as
Excel in China saves it) — with Chinese headers (`labels.IMPORT_HEADERS`).

`preview` checks every row without writing and lists the errors per row and column in Chinese, with counts;
`commit` writes, either all or nothing (`all_or_nothing`: any row in error refuses the whole file) or the valid rows
only (`valid_only`). A row whose person is already registered with the same name, phone and ID number changes
nothing, so the same file imported twice creates nothing the second time. Each commit leaves an `import_batch`
row (who, when, the file's SHA-256, counts) and an audit entry.

Scope: a community (street, district) admin imports people whose community lies in their scope; they join it at
once. An employer's contact imports only in-service party members of its own employer (the 工作单位 column is
checked against it, or filled in); they live anywhere under the org that registered the employer, and each gets a
join request that their community decides (or approves at once by its `auto_approve_join` setting).

Imported people get no password: they set one by the password reset by code. Writes are Core inserts in chunks
with the ID hashes computed once, so 10,000 rows take seconds (`bench/import_bench.py`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank import labels
from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput
from timebank.joining import signup
from timebank.joining.models import ImportBatch, JoinRequest, JoinStatus
from timebank.ops import audit
from timebank.people import id_numbers, security
from timebank.people import persons as people
from timebank.people.access import ADMIN_ROLES, Actor
from timebank.people.models import (
    Branch,
    Employer,
    Org,
    OrgKind,
    PartyMember,
    PartyMemberStatus,
    Person,
    Role,
    RoleGrant,
)

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
MAX_ERRORS_SHOWN = 500  # a preview lists this many row errors (the counts cover all of them)
CHUNK = 1000
MODES = ("all_or_nothing", "valid_only")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

H = labels.IMPORT_HEADERS  # column key -> the Chinese header
REQUIRED = ("name", "phone", "id_number", "community")
VOLUNTEER, PARTY_MEMBER = labels.IMPORT_KINDS["volunteer"], labels.IMPORT_KINDS["party_member"]


@dataclass(frozen=True)
class RowError:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str  # the Chinese header
    message: str


@dataclass
class _Row:
    row: int
    name: str
    phone: str
    id_hash: str
    community: Org
    party_member: bool
    employer_id: int | None
    branch_id: int | None


@dataclass
class Preview:
    file_name: str
    digest: str
    total: int = 0
    new: list[_Row] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_rows: int = 0

    @property
    def valid(self) -> int:
        return len(self.new) + self.unchanged

    @property
    def shown_errors(self) -> list[RowError]:
        return self.errors[:MAX_ERRORS_SHOWN]


@dataclass(frozen=True)
class Scope:
    """Who imports into where: a community admin's subtrees, or one employer (its members, under its org)."""

    actor: Actor
    employer: Employer | None = None

    def paths(self) -> list[str]:
        if self.employer is not None:
            return [self.employer.org.path]
        return self.actor.paths_for(ADMIN_ROLES)


def scope_for(session: Session, actor: Actor, employer_id: int | None) -> Scope:
    """An employer's contact names its employer; an admin imports in their own scope."""
    if employer_id is not None:
        actor.require_employer(employer_id)
        employer = session.get(Employer, employer_id)
        if employer is None:
            raise Forbidden("out_of_scope", variant="other_employer")
        return Scope(actor, employer)
    if not actor.paths_for(ADMIN_ROLES):
        raise Forbidden("out_of_scope", variant="import")
    return Scope(actor)


# --- reading the file -----------------------------------------------------------------------------------------

def _text(value) -> str:
    """A cell as text. Excel keeps long digit strings typed as numbers as integers (or floats once they lose
    digits, which the ID check then refuses)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return str(value).strip()


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="strict")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise InvalidInput("import_file_unreadable", variant="encoding") from exc
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            yield [cell.strip() for cell in row]
    except csv.Error as exc:
        raise InvalidInput("import_file_unreadable") from exc


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a broken or disguised file: openpyxl raises many kinds
        raise InvalidInput("import_file_unreadable") from exc
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_text(v) for v in row]
    finally:
        book.close()


def read_rows(data: bytes, file_name: str) -> Iterator[list[str]]:
    """Every row of the first sheet (or the CSV), as text cells."""
    if len(data) > MAX_BYTES:
        raise InvalidInput("import_file_too_large", max_mb=MAX_BYTES // (1024 * 1024))
    if not data:
        raise InvalidInput("import_file_empty")
    if data[:4] == b"PK\x03\x04" or file_name.lower().endswith(".xlsx"):
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise InvalidInput("import_file_unreadable")
        return _xlsx_rows(data)
    return _csv_rows(data)


def _columns(header: list[str]) -> dict[str, int]:
    by_header = {text.strip().lstrip("\ufeff"): i for i, text in enumerate(header) if text and text.strip()}
    columns = {key: by_header[title] for key, title in H.items() if title in by_header}
    missing = [H[key] for key in REQUIRED if key not in columns]
    if missing:
        raise InvalidInput("import_headers_missing", missing="、".join(missing))
    return columns


# --- checking rows --------------------------------------------------------------------------------------------

class _Lookups:
    """Communities, employers and branches by the names and codes people write, read once per file."""

    def __init__(self, session: Session, scope: Scope):
        self.session, self.scope = session, scope
        paths = scope.paths()
        self.communities: dict[str, list[Org]] = {}
        if paths:
            stmt = select(Org).where(Org.kind == OrgKind.community,
                                     or_(*[Org.path.startswith(p, autoescape=True) for p in paths]))
            for org in session.scalars(stmt):
                self.communities.setdefault(org.name, []).append(org)
        self._employers: dict[str, Employer | None] = {}
        self._branches: dict[str, list[Branch]] | None = None

    def community(self, text: str) -> Org | str:
        found = self.communities.get(text, [])
        if len(found) == 1:
            return found[0]
        return "community_ambiguous" if found else "community_unknown"

    def employer(self, text: str) -> Employer | None:
        if text not in self._employers:
            self._employers[text] = self.session.scalar(
                select(Employer).where(or_(Employer.credit_code == text.upper(), Employer.name == text)).limit(1))
        return self._employers[text]

    def branch(self, text: str) -> Branch | str:
        if self._branches is None:
            self._branches = {}
            for branch in self.session.scalars(select(Branch)):
                self._branches.setdefault(branch.name, []).append(branch)
        found = self._branches.get(text, [])
        if len(found) == 1:
            return found[0]
        return "branch_ambiguous" if found else "branch_unknown"


def _problem(key: str, **params) -> str:
    return labels.IMPORT_ROW_PROBLEMS[key].format(**params)


def _check_row(cells: list[str], columns: dict[str, int], row_no: int, lookups: _Lookups, *, id_number_key: str,
               today: date, errors: list[RowError]) -> _Row | None:
    def get(key: str) -> str:
        i = columns.get(key)
        return cells[i].strip() if i is not None and i < len(cells) and cells[i] else ""

    before = len(errors)

    def err(key: str, problem: str, **params) -> None:
        errors.append(RowError(row_no, H[key], _problem(problem, **params)))

    name = " ".join(get("name").split())
    if not name:
        err("name", "name_required")
    elif len(name) > 60:
        err("name", "name_too_long")
    phone = people.normalise_phone(get("phone"))
    if not people.is_mobile(phone):
        err("phone", "phone_invalid")
    number = id_numbers.normalise(get("id_number"))
    wrong = id_numbers.problem(number, today=today)
    if wrong is not None:
        err("id_number", f"id_number_{wrong}")
    community = None
    if not get("community"):
        err("community", "community_required")
    else:
        found = lookups.community(get("community"))
        if isinstance(found, str):
            err("community", found, name=get("community"))
        else:
            community = found
    kind = get("kind") or (PARTY_MEMBER if lookups.scope.employer else VOLUNTEER)
    if kind not in (VOLUNTEER, PARTY_MEMBER):
        err("kind", "kind_unknown", kinds=f"{VOLUNTEER}、{PARTY_MEMBER}")
    party_member = kind == PARTY_MEMBER
    employer_id = branch_id = None
    if lookups.scope.employer is not None:
        if kind != PARTY_MEMBER:
            err("kind", "kind_employer_only")
        own = lookups.scope.employer
        written = get("employer")
        if written and written.upper() != own.credit_code and written != own.name:
            err("employer", "employer_not_own", name=own.name)
        employer_id = own.id
    elif party_member:
        written = get("employer")
        employer = lookups.employer(written) if written else None
        if not written:
            err("employer", "employer_required")
        elif employer is None:
            err("employer", "employer_unknown", name=written)
        else:
            employer_id = employer.id
    if party_member and get("branch"):
        found = lookups.branch(get("branch"))
        if isinstance(found, str):
            err("branch", found, name=get("branch"))
        else:
            branch_id = found.id
    if len(errors) > before:
        return None
    return _Row(row_no, name, phone, security.id_number_hash(id_number_key, number), community, party_member,
                employer_id, branch_id)


def _existing(session: Session, rows: list[_Row]) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """Registered people matching the rows' ID hashes or phones: (by hash, by phone) -> (id, name, phone, hash)."""
    by_hash: dict[str, tuple] = {}
    by_phone: dict[str, tuple] = {}
    p = Person.__table__
    for start in range(0, len(rows), CHUNK):
        part = rows[start:start + CHUNK]
        stmt = select(p.c.id, p.c.name, p.c.phone, p.c.id_number_hash).where(or_(
            p.c.id_number_hash.in_([r.id_hash for r in part]), p.c.phone.in_([r.phone for r in part])))
        for found in session.execute(stmt):
            if found.id_number_hash:
                by_hash[found.id_number_hash] = tuple(found)
            by_phone[found.phone] = tuple(found)
    return by_hash, by_phone


def preview(session: Session, actor: Actor, data: bytes, file_name: str, *, id_number_key: str,
            employer_id: int | None = None, today: date | None = None) -> Preview:
    """Check every row without writing: the rows to create, those already registered, the errors per row."""
    scope = scope_for(session, actor, employer_id)
    today = today or utcnow().date()
    result = Preview(file_name=(file_name or "")[:200], digest=hashlib.sha256(data).hexdigest())
    rows = read_rows(data, file_name or "")
    header = next(rows, None)
    if header is None:
        raise InvalidInput("import_file_empty")
    columns = _columns(header)
    lookups = _Lookups(session, scope)
    checked: list[_Row] = []
    for row_no, cells in enumerate(rows, start=2):
        if not any(cells):
            continue
        result.total += 1
        if result.total > MAX_ROWS:
            raise InvalidInput("import_too_many_rows", max_rows=MAX_ROWS)
        row = _check_row(cells, columns, row_no, lookups, id_number_key=id_number_key, today=today,
                         errors=result.errors)
        if row is not None:
            checked.append(row)
    if result.total == 0:
        raise InvalidInput("import_file_empty")
    by_hash, by_phone = _existing(session, checked)
    seen_hash: dict[str, int] = {}
    seen_phone: dict[str, int] = {}
    for row in checked:
        here = len(result.errors)
        if row.id_hash in seen_hash:
            result.errors.append(RowError(row.row, H["id_number"], _problem("duplicate_in_file",
                                                                            row=seen_hash[row.id_hash])))
        elif row.phone in seen_phone:
            result.errors.append(RowError(row.row, H["phone"], _problem("duplicate_in_file",
                                                                        row=seen_phone[row.phone])))
        seen_hash.setdefault(row.id_hash, row.row)
        seen_phone.setdefault(row.phone, row.row)
        if len(result.errors) > here:
            continue
        known = by_hash.get(row.id_hash)
        if known is not None:
            if known[2] == row.phone and known[1] == row.name:
                result.unchanged += 1
            else:
                result.errors.append(RowError(row.row, H["id_number"], _problem("id_number_registered_other")))
            continue
        if row.phone in by_phone:
            result.errors.append(RowError(row.row, H["phone"], _problem("phone_registered_other")))
            continue
        result.new.append(row)
    result.errors.sort(key=lambda e: e.row)
    result.error_rows = len({e.row for e in result.errors})
    return result


# --- writing --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportResult:
    batch: ImportBatch
    preview: Preview


def commit(session: Session, actor: Actor, data: bytes, file_name: str, *, mode: str, id_number_key: str,
           employer_id: int | None = None, today: date | None = None) -> ImportResult:
    """Import the file: all rows or none (`all_or_nothing`), or the valid rows only (`valid_only`)."""
    if mode not in MODES:
        raise InvalidInput("import_mode_unknown")
    checked = preview(session, actor, data, file_name, id_number_key=id_number_key, employer_id=employer_id,
                      today=today)
    if checked.errors and mode == "all_or_nothing":
        raise InvalidInput("import_has_errors", rows=checked.error_rows)
    scope = scope_for(session, actor, employer_id)
    try:
        with session.begin_nested():
            _insert(session, actor, scope, checked.new)
    except IntegrityError as exc:  # another import (or a sign-up) registered one of these people meanwhile
        raise Conflict("import_conflict") from exc
    home_grant = next((g.org_id for g in actor.grants if g.role in ADMIN_ROLES and g.org_id), None)
    batch = ImportBatch(actor=actor.label, org_id=None if scope.employer else home_grant,
                        employer_id=scope.employer.id if scope.employer else None,
                        file_name=checked.file_name, file_digest=checked.digest, mode=mode, total_rows=checked.total,
                        created=len(checked.new), unchanged=checked.unchanged, refused=checked.error_rows)
    session.add(batch)
    session.flush()
    audit.record(session, actor, "import.commit", "import_batch", batch.id,
                 org_path=scope.employer.org.path if scope.employer else (scope.paths() or [None])[0],
                 after={"file": checked.file_name, "digest": checked.digest, "mode": mode, "rows": checked.total,
                        "created": len(checked.new), "unchanged": checked.unchanged, "refused": checked.error_rows})
    return ImportResult(batch, checked)


def _insert(session: Session, actor: Actor, scope: Scope, rows: list[_Row]) -> None:
    """Core inserts in chunks: people, their numbers, volunteer grants (or join requests), party membership."""
    if not rows:
        return
    conn = session.connection()
    now = utcnow()
    p, g = Person.__table__, RoleGrant.__table__
    joins = scope.employer is not None  # an employer's members ask their community; an admin's join at once
    auto: dict[int, bool] = {}
    for start in range(0, len(rows), CHUNK):
        part = rows[start:start + CHUNK]
        reserved = _reserve_person_ids(conn, len(part))
        ids = {r.phone: pid for r, pid in zip(part, reserved, strict=True)}
        conn.execute(insert(p), [
            {"id": ids[r.phone], "volunteer_no": people.volunteer_no_for(ids[r.phone]), "name": r.name,
             "phone": r.phone, "password_hash": None, "id_number_hash": r.id_hash,
             "home_org_id": None if joins else r.community.id, "is_active": True, "token_version": 1,
             "created_at": now} for r in part])
        members = [{"person_id": ids[r.phone], "status": PartyMemberStatus.in_service.value,
                    "employer_id": r.employer_id, "branch_id": r.branch_id, "created_at": now}
                   for r in part if r.party_member]
        if members:
            conn.execute(insert(PartyMember.__table__), members)
        if not joins:
            conn.execute(insert(g), [{"person_id": ids[r.phone], "role": Role.volunteer.value,
                                      "org_id": r.community.id, "granted_by_id": actor.person_id,
                                      "created_at": now} for r in part])
            continue
        for r in part:
            if r.community.id not in auto:
                auto[r.community.id] = signup.auto_approves(session, r.community)
        j = JoinRequest.__table__
        asked = [{"person_id": ids[r.phone], "community_id": r.community.id, "community_path": r.community.path,
                  "status": JoinStatus.pending.value, "created_at": now, "_auto": auto[r.community.id]} for r in part]
        waiting = [{k: v for k, v in a.items() if k != "_auto"} for a in asked if not a["_auto"]]
        at_once = [{k: v for k, v in a.items() if k != "_auto"} for a in asked if a["_auto"]]
        if waiting:
            conn.execute(insert(j), waiting)
        if at_once:
            new_ids = conn.execute(insert(j).returning(j.c.id), at_once).scalars().all()
            for row in session.scalars(select(JoinRequest).where(JoinRequest.id.in_(new_ids))):
                signup.approve_automatically(session, row)


def _reserve_person_ids(conn, count: int) -> list[int]:
    """Ids for `count` new people, taken before the insert so each row is written once with its volunteer number:
    from the id sequence on PostgreSQL; on SQLite after the largest id (the transaction holds the writer lock
    from BEGIN IMMEDIATE, and SQLite itself would number new rows the same way)."""
    if conn.dialect.name == "postgresql":
        return list(conn.execute(text("SELECT nextval(pg_get_serial_sequence('person', 'id')) "
                                      "FROM generate_series(1, :n)"), {"n": count}).scalars())
    start = (conn.execute(select(func.max(Person.__table__.c.id))).scalar() or 0) + 1
    return list(range(start, start + count))


def template_csv() -> bytes:
    """The import template: the headers, in the order people fill them in."""
    from timebank import csvfile

    return csvfile.write(list(H.values()), [])


def template_xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("导入人员")
    sheet.append(list(H.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
