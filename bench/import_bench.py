"""Bulk import benchmark: one file of 10,000 valid people imported through `timebank.joining.imports` (the code
the API and the console use), next to a minimal insert reference measured in the same run: the same 10,000 rows
inserted by a bare SQLAlchemy Core executemany into a one-table database.

Each measurement runs in a child process of its own, so its peak resident memory (VmHWM) is its own. The import
runs on the database named by TIMEBANK_DATABASE_URL (its schema is rebuilt: use a scratch database) or a temporary
SQLite file; the reference on a one-table SQLite file, or a one-table schema of that PostgreSQL database.

    .venv/bin/python bench/import_bench.py [--rows 10000] [--format xlsx|csv]
    TIMEBANK_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<scratch db> .venv/bin/python bench/import_bench.py
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMMUNITIES = 10
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚"
HASH_KEY = "bench-id-key"


def _memory() -> dict:
    """Resident memory now and at its peak, in MB (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return {"rss_mb": int(fields["VmRSS"].split()[0]) / 1024, "peak_mb": int(fields["VmHWM"].split()[0]) / 1024}
    except OSError:
        import resource

        return {"rss_mb": None, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def people(rows: int) -> list[dict]:
    """`rows` distinct valid people: real-looking names, mobile numbers, ID numbers with their check character."""
    from timebank.people.id_numbers import check_character

    out = []
    for i in range(rows):
        # The birth date varies with the thousands, the sequence with the rest: every number is distinct.
        first17 = f"330102{1950 + (i // 1000) % 50}{1 + (i // 100) % 10:02d}{1 + i % 28:02d}{i % 1000:03d}"
        out.append({"姓名": SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)] + GIVEN[(i // 7) % len(GIVEN)],
                    "手机号": f"138{i:08d}", "身份证号": first17 + check_character(first17),
                    "所属社区": f"第{i % COMMUNITIES + 1}社区", "类型": "志愿者", "工作单位": "", "党支部": ""})
    return out


def build_file(rows: list[dict], fmt: str) -> bytes:
    headers = list(rows[0])
    if fmt == "csv":
        from timebank import csvfile

        return csvfile.write(headers, [[r[h] for h in headers] for r in rows])
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("人员")
    sheet.append(headers)
    for r in rows:
        sheet.append([r[h] for h in headers])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run_import(db_url: str, path: str, fmt: str, queue) -> None:
    """Child: fresh schema by the migrations, a district of 10 communities and its admin, then the import twice."""
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, func, select, text

    from timebank import create_app
    from timebank.extensions import db
    from timebank.joining import imports
    from timebank.people import orgs
    from timebank.people import persons as people_rules
    from timebank.people.access import SYSTEM, load_person_actor
    from timebank.people.models import OrgKind, Person, Role

    if db_url.startswith("postgresql"):
        engine = create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    workdir = tempfile.mkdtemp(prefix="import-bench-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": "embedded", "LOG_REQUESTS": False,
                      "REDIS_EMBEDDED_PATH": os.path.join(workdir, "redis.rdb"), "SECRET_KEY": "bench",
                      "ID_NUMBER_HASH_KEY": HASH_KEY})
    with app.app_context():
        upgrade(revision="heads")
        session = db.session
        district = orgs.create_root(session, name="示范区")
        street = orgs.create(session, SYSTEM, kind=OrgKind.street, name="示范街道", parent_id=district.id)
        for n in range(COMMUNITIES):
            orgs.create(session, SYSTEM, kind=OrgKind.community, name=f"第{n + 1}社区", parent_id=street.id)
        admin = people_rules.register(session, None, name="区管理员", phone="13900000000", password=None,
                                      home_org_id=district.id)
        people_rules.grant(session, None, admin, Role.district_admin, org_id=district.id)
        session.commit()
        actor = load_person_actor(session, admin)
        session.commit()
        data = Path(path).read_bytes()
        before = _memory()
        started = time.perf_counter()
        result = imports.commit(session, actor, data, f"people.{fmt}", mode="all_or_nothing",
                                id_number_key=HASH_KEY)
        session.commit()
        seconds = time.perf_counter() - started
        after = _memory()
        created = result.batch.created
        started = time.perf_counter()
        again = imports.commit(session, actor, data, f"people.{fmt}", mode="all_or_nothing", id_number_key=HASH_KEY)
        session.commit()
        again_seconds = time.perf_counter() - started
        report = {"seconds": seconds, "created": created, "again_seconds": again_seconds,
                  "again_created": again.batch.created, "again_unchanged": again.batch.unchanged,
                  "people": session.scalar(select(func.count()).select_from(Person)),
                  "rss_before_mb": before["rss_mb"], "peak_mb": after["peak_mb"]}
        db.session.remove()
        db.engine.dispose()
    queue.put(report)


def run_reference(db_url: str, rows: list[dict], queue) -> None:
    """Child: the same rows, as stored (keyed ID hash precomputed), by one Core executemany into one table."""
    from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, create_engine, text

    from timebank.people import security

    stored = [{"name": r["姓名"], "phone": r["手机号"], "home_org_id": 1,
               "id_number_hash": security.id_number_hash(HASH_KEY, r["身份证号"])} for r in rows]
    workdir = tempfile.mkdtemp(prefix="import-bench-ref-")
    meta = MetaData(schema="import_bench_ref" if db_url.startswith("postgresql") else None)
    table = Table("person", meta, Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
                  Column("name", String(60), nullable=False), Column("phone", String(20), unique=True),
                  Column("id_number_hash", String(64), unique=True), Column("home_org_id", Integer))
    if db_url.startswith("postgresql"):
        engine = create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS import_bench_ref CASCADE"))
            conn.execute(text("CREATE SCHEMA import_bench_ref"))
    else:
        engine = create_engine(f"sqlite:///{os.path.join(workdir, 'reference.sqlite3')}")
    meta.create_all(engine)
    before = _memory()
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(table.insert(), stored)
    seconds = time.perf_counter() - started
    after = _memory()
    if db_url.startswith("postgresql"):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA import_bench_ref CASCADE"))
    engine.dispose()
    queue.put({"seconds": seconds, "rss_before_mb": before["rss_mb"], "peak_mb": after["peak_mb"]})


def _child(target, *args) -> dict:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except Exception:  # noqa: BLE001 - queue.Empty: is the child still at work?
            if not proc.is_alive():
                raise SystemExit(f"{target.__name__} failed (exit code {proc.exitcode})") from None
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    args = parser.parse_args()
    from timebank.config import _normalise_database_url

    db_url = os.environ.get("TIMEBANK_DATABASE_URL", "")
    workdir = tempfile.mkdtemp(prefix="import-bench-")
    if db_url.startswith(("postgres://", "postgresql")):
        db_url = _normalise_database_url(db_url)
    else:
        db_url = f"sqlite:///{os.path.join(workdir, 'timebank.sqlite3')}"
    rows = people(args.rows)
    path = os.path.join(workdir, f"people.{args.format}")
    Path(path).write_bytes(build_file(rows, args.format))
    reference = _child(run_reference, db_url, rows)
    imported = _child(run_import, db_url, path, args.format)
    kind = "PostgreSQL" if db_url.startswith("postgresql") else "SQLite"
    report = {"database": kind, "rows": args.rows, "format": args.format,
              "file_kb": round(os.path.getsize(path) / 1024), "import": imported, "reference": reference,
              "ratio": round(imported["seconds"] / reference["seconds"], 1)}
    print(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"{kind}: {args.rows} people from {args.format.upper()} imported in {imported['seconds']:.2f} s "
          f"(peak RSS {imported['peak_mb']:.0f} MB); minimal Core executemany reference {reference['seconds']:.2f} s "
          f"(peak RSS {reference['peak_mb']:.0f} MB); ratio {report['ratio']}x. "
          f"Second import of the same file: {imported['again_created']} created, "
          f"{imported['again_unchanged']} unchanged in {imported['again_seconds']:.2f} s.")


if __name__ == "__main__":
    main()
