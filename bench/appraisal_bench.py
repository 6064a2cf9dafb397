"""Appraisal benchmark on PostgreSQL + Redis (run once, at the end; it rebuilds the schema of --db).

A city's run: 6,000 in-service party members of 300 employers, living in 100 communities, with a year of
service (20 verified attendances each: 120,000 attendances and verifications, 240,000 ledger transfers, 1%
of them reversed on upheld complaints, micro-wishes with ratings, late withdrawals and no-shows), seeded
in bulk (executemany). Then the year's run is started and two `timebank worker reports` processes render
the 300 letters (PDF with embedded CJK font) and queue their delivery by e-mail; an SMTP server on
loopback (aiosmtpd) receives them. Reported: seconds from the start of the run until every report is
rendered and its delivery queued (the target is <= 120 s), until every e-mail is sent, and the peak
resident memory (VmHWM) of each worker (target <= 300 MB). With --pgbench, pgbench -c 8 -j 2 -T 15 on a
scratch database runs right after, as the machine's reference.

    .venv/bin/python bench/appraisal_bench.py --db postgresql://postgres@127.0.0.1:5432/tb_appraisal \
        --redis redis://127.0.0.1:6379/4 --pgbench [--png docs/appraisal_report_page.png]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
COLOURS = ["红色先锋", "橙色关爱", "绿色环保", "金色助老", "蓝色平安"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
YEAR = 2025


def env_for(db: str, redis_url: str) -> dict:
    return {**os.environ, "TIMEBANK_DATABASE_URL": db, "TIMEBANK_REDIS_URL": redis_url,
            "TIMEBANK_LOG_LEVEL": "WARNING", "TIMEBANK_SECRET_KEY": "bench-secret", "PYTHONPATH": str(ROOT)}


def seed(app, *, members: int, employers: int, communities: int, per_member: int, rng: random.Random) -> dict:
    """Fresh schema from the migrations, then a city's year of service in bulk."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, text

    from timebank.appraisal.models import ReportIn
    from timebank.extensions import db
    from timebank.hours.models import Attendance, Claim, Complaint, Need, Rating, Task, Verification
    from timebank.ledger import chain
    from timebank.ledger.models import Account, Transfer
    from timebank.people import credit_code
    from timebank.people.models import Branch, Employer, Org, PartyMember, Person

    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(revision="heads")
    s = db.session
    t0 = time.perf_counter()
    now = datetime.now(UTC)

    def bulk(model, rows):
        for i in range(0, len(rows), 5000):
            s.execute(insert(model), rows[i:i + 5000])

    # The tree: a district, 10 streets, 100 communities, 3 grids each. Ids are assigned here.
    orgs, oid = [], 0

    def org(kind, name, parent_path):
        nonlocal oid
        oid += 1
        orgs.append({"id": oid, "kind": kind, "name": name, "parent_id": int(parent_path.strip("/").split("/")[-1])
                     if parent_path != "/" else None, "path": f"{parent_path}{oid}/", "settings": {},
                     "created_at": now})
        return oid, f"{parent_path}{oid}/"

    district_id, district_path = org("district", "基准区", "/")
    orgs[0]["settings"] = {"categories": COLOURS, "points_per_hour": 10}
    community_ids, community_path, grids_of = [], {}, {}
    for st in range(10):
        _sid, spath = org("street", f"第{st + 1}街道", district_path)
        for c in range(communities // 10):
            cid, cpath = org("community", f"第{st + 1}街道第{c + 1}社区", spath)
            community_ids.append(cid)
            community_path[cid] = cpath
            grids_of[cid] = [org("grid", f"网格{g + 1}", cpath)[0] for g in range(3)]
    bulk(Org, orgs)

    employer_rows = [{"id": e + 1, "name": f"基准市第{e + 1}单位", "org_id": district_id,
                      "credit_code": credit_code.make(f"9133{e + 1:013d}"), "contact_name": "党委书记",
                      "contact_email": f"dangwei{e + 1}@unit.example.test", "created_at": now}
                     for e in range(employers)]
    bulk(Employer, employer_rows)
    bulk(Branch, [{"id": e + 1, "name": f"第{e + 1}单位机关党支部", "org_id": district_id, "created_at": now}
                  for e in range(employers)])

    people, pid = [], 0

    def person(name, home):
        nonlocal pid
        pid += 1
        people.append({"id": pid, "name": name, "phone": f"13{pid:09d}", "home_org_id": home, "is_active": True,
                       "token_version": 1, "created_at": now})
        return pid

    admin_of = {c: person(f"社区书记{c}", c) for c in community_ids}
    resident_of = {c: person(f"居民{c}", grids_of[c][0]) for c in community_ids}
    member_rows, report_ins, home_of = [], [], {}
    for m in range(members):
        community = community_ids[m % len(community_ids)]
        p = person(rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), rng.choice(grids_of[community]))
        home_of[p] = community
        employer = m % employers + 1
        member_rows.append({"id": m + 1, "person_id": p, "status": "in_service", "branch_id": employer,
                            "employer_id": employer, "created_at": now})
        roll = rng.random()
        if roll < 0.97:
            reported = date(YEAR, 1, 1) + timedelta(days=rng.randrange(0, 200))
            report_ins.append({"party_member_id": m + 1, "person_id": p, "community_id": community,
                               "community_path": community_path[community], "employer_id": employer,
                               "branch_id": employer, "reported_on": reported,
                               "expires_on": reported + timedelta(days=365),
                               "status": "accepted" if roll < 0.92 else "pending", "created_at": now})
    bulk(Person, people)
    bulk(PartyMember, member_rows)
    bulk(ReportIn, report_ins)

    # A year of tasks: 200 per community; 15% organisation scope, 10% from micro-wishes (fulfilled).
    tasks, needs, tid, nid = [], [], 0, 0
    tasks_of = {c: [] for c in community_ids}
    for c in community_ids:
        for _ in range(200):
            tid += 1
            start = datetime(YEAR, 1, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 364 * 24 * 60 // 30) * 30)
            length = rng.choice([60, 90, 120, 180])
            scope = "organisation" if rng.random() < 0.15 else "individual"
            need_id = None
            if rng.random() < 0.10:
                nid += 1
                need_id = nid
                needs.append({"id": nid, "kind": "micro_wish", "org_id": grids_of[c][0],
                              "org_path": community_path[c] + f"{grids_of[c][0]}/", "community_id": c,
                              "requester_id": resident_of[c], "entered_by_id": resident_of[c],
                              "title": "微心愿", "description": "", "status": "fulfilled", "fulfilled_at": start,
                              "created_at": start - timedelta(days=3)})
            tasks.append({"id": tid, "community_id": c, "org_id": grids_of[c][0],
                          "org_path": community_path[c] + f"{grids_of[c][0]}/", "need_id": need_id,
                          "title": "社区志愿服务", "description": "", "category": rng.choice(COLOURS), "scope": scope,
                          "place": "社区服务站", "starts_at": start, "ends_at": start + timedelta(minutes=length),
                          "slots": 200, "claimed": 0, "points_per_hour": 10,
                          "eligibility": "employer" if scope == "organisation" else "anyone",
                          "eligible_employer_id": 1 if scope == "organisation" else None,
                          "status": "published", "created_by_id": admin_of[c], "created_at": start - timedelta(days=7)})
            tasks_of[c].append(tasks[-1])
    bulk(Need, needs)
    bulk(Task, tasks)
    bulk(Rating, [{"need_id": n["id"], "rater_id": n["requester_id"], "community_id": n["community_id"],
                   "stars": rng.choice([3, 4, 5, 5]), "comment": "", "created_at": n["fulfilled_at"]}
                  for n in needs if rng.random() < 0.8])

    # Accounts: issuer minutes/points per community (unlimited, cached columns zero), volunteer pair per member.
    accounts, aid = [], 0
    issuer = {}
    for c in community_ids:
        for book in ("minutes", "points"):
            aid += 1
            issuer[(c, book)] = aid
            accounts.append({"id": aid, "ledger": book, "owner_kind": "issuer", "owner_id": c, "org_id": c, "flags": 0,
                             "debits_posted": 0, "credits_posted": 0, "debits_pending": 0, "credits_pending": 0,
                             "created_at": now})
    volunteer = {}
    for row in member_rows:
        for book in ("minutes", "points"):
            aid += 1
            volunteer[(row["person_id"], book)] = len(accounts)
            accounts.append({"id": aid, "ledger": book, "owner_kind": "volunteer", "owner_id": row["person_id"],
                             "org_id": None, "flags": 1, "debits_posted": 0, "credits_posted": 0,
                             "debits_pending": 0, "credits_pending": 0, "created_at": now})

    claims, attendances, verifications, transfers, complaints = [], [], [], [], []
    cid_seq = att_seq = tr_seq = 0

    def transfer(key, book, debit, credit, amount, code, at, corrects=None, meta=None):
        nonlocal tr_seq
        tr_seq += 1
        v = {"key": key, "ledger": book, "debit_account_id": debit, "credit_account_id": credit, "amount": amount,
             "code": code, "phase": "posted", "pending_id": None, "corrects_id": corrects, "timeout_at": None,
             "meta": meta, "created_at": at}
        v["row_hash"] = chain.row_hash(**v)
        transfers.append({"id": tr_seq, **v})
        return tr_seq

    for row in member_rows:
        p = row["person_id"]
        c = home_of[p]
        picks = rng.sample(tasks_of[c], per_member + 2)
        for i, task in enumerate(picks):
            cid_seq += 1
            if i == per_member:  # one withdrawn claim a year, half of them late
                lead = timedelta(hours=rng.choice([2, 72]))
                claims.append({"id": cid_seq, "task_id": task["id"], "person_id": p, "status": "withdrawn",
                               "created_at": task["created_at"], "withdrawn_at": task["starts_at"] - lead})
                continue
            if i == per_member + 1:
                if rng.random() < 0.5:
                    claims.append({"id": cid_seq, "task_id": task["id"], "person_id": p, "status": "no_show",
                                   "created_at": task["created_at"], "no_show_at": task["ends_at"],
                                   "no_show_by_id": admin_of[c]})
                continue
            claims.append({"id": cid_seq, "task_id": task["id"], "person_id": p, "status": "active",
                           "created_at": task["created_at"]})
            att_seq += 1
            minutes = int((task["ends_at"] - task["starts_at"]).total_seconds() // 60)
            points = minutes * 10 // 60
            reversed_ = rng.random() < 0.01
            at = task["ends_at"] + timedelta(hours=2)
            attendances.append({"id": att_seq, "claim_id": cid_seq, "task_id": task["id"], "person_id": p,
                                "community_id": c, "org_path": community_path[c], "checked_in_at": task["starts_at"],
                                "checked_out_at": task["ends_at"], "minutes": minutes, "source": "grid_worker",
                                "recorded_by_id": admin_of[c], "checked_out_by_id": admin_of[c],
                                "status": "reversed" if reversed_ else "accepted", "created_at": task["starts_at"]})
            meta = {"attendance_id": att_seq, "task_id": task["id"], "category": task["category"]}
            vm = accounts[volunteer[(p, "minutes")]]
            vp = accounts[volunteer[(p, "points")]]
            mt = transfer(f"credit:attendance:{att_seq}:minutes", "minutes", issuer[(c, "minutes")], vm["id"],
                          minutes, 1, at, meta=meta)
            pt = transfer(f"credit:attendance:{att_seq}:points", "points", issuer[(c, "points")], vp["id"],
                          points, 1, at, meta=meta)
            vm["credits_posted"] += minutes
            vp["credits_posted"] += points
            served_on = (task["starts_at"] + timedelta(hours=8)).date()
            verifications.append({"attendance_id": att_seq, "decision": "accepted", "minutes_attended": minutes,
                                  "minutes_accepted": minutes, "points": points, "category": task["category"],
                                  "person_id": p, "community_id": c, "served_on": served_on,
                                  "decided_by_id": admin_of[c], "decided_at": at, "credited_at": at,
                                  "minutes_transfer_id": mt, "points_transfer_id": pt,
                                  "reversed_at": at + timedelta(days=5) if reversed_ else None})
            if reversed_:
                reason = "投诉成立:未按要求完成服务"
                later = at + timedelta(days=5)
                transfer(f"reverse:attendance:{att_seq}:minutes", "minutes", vm["id"], issuer[(c, "minutes")],
                         minutes, 2, later, corrects=mt, meta={"reason": reason})
                transfer(f"reverse:attendance:{att_seq}:points", "points", vp["id"], issuer[(c, "points")],
                         points, 2, later, corrects=pt, meta={"reason": reason})
                vm["debits_posted"] += minutes
                vp["debits_posted"] += points
                complaints.append({"attendance_id": att_seq, "filed_by_id": resident_of[c], "text": "未到场",
                                   "status": "upheld", "decided_by_id": admin_of[c], "decided_at": later,
                                   "decision_reason": reason, "created_at": later - timedelta(days=1)})
    bulk(Account, accounts)
    bulk(Claim, claims)
    bulk(Attendance, attendances)
    bulk(Transfer, transfers)
    bulk(Verification, verifications)
    bulk(Complaint, complaints)
    s.commit()
    with db.engine.begin() as conn:  # explicit ids were inserted: move the sequences past them
        for table in ("org", "employer", "branch", "person", "party_member", "need", "task", "ledger_account",
                      "claim", "attendance", "ledger_transfer"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        conn.execute(text("ANALYZE"))
    return {"district_id": district_id, "seconds": round(time.perf_counter() - t0, 1), "members": len(member_rows),
            "employers": employers, "attendances": len(attendances), "transfers": len(transfers),
            "claims": len(claims), "tasks": len(tasks)}


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pgbench(db: str) -> str:
    base, _, _name = db.rpartition("/")
    scratch = f"{base}/tb_appraisal_pgbench"
    host_args = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["dropdb", *host_args, "--if-exists", "tb_appraisal_pgbench"], check=True)
    subprocess.run(["createdb", *host_args, "tb_appraisal_pgbench"], check=True)
    subprocess.run(["pgbench", "-i", "-s", "1", "-q", scratch], check=True, capture_output=True)
    out = subprocess.run(["pgbench", "-c", "8", "-j", "2", "-T", "15", scratch], check=True, capture_output=True,
                         text=True).stdout
    subprocess.run(["dropdb", *host_args, "--if-exists", "tb_appraisal_pgbench"], check=True)
    return next((ln for ln in out.splitlines() if ln.startswith("tps")), out[-300:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--members", type=int, default=6000)
    parser.add_argument("--employers", type=int, default=300)
    parser.add_argument("--communities", type=int, default=100)
    parser.add_argument("--per-member", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pgbench", action="store_true")
    parser.add_argument("--png", help="write page 2 of one rendered report here (needs pdftoppm)")
    args = parser.parse_args()
    env = env_for(args.db, args.redis)
    os.environ.update({k: env[k] for k in ("TIMEBANK_DATABASE_URL", "TIMEBANK_REDIS_URL", "TIMEBANK_SECRET_KEY",
                                           "TIMEBANK_LOG_LEVEL")})
    sys.path.insert(0, str(ROOT / "tests"))
    from sqlalchemy import func, select

    from tests.appraisal.mail import smtp_server
    from timebank import create_app
    from timebank.appraisal import reports as appraisal
    from timebank.appraisal.models import AppraisalReport, ReportDelivery
    from timebank.extensions import db, redis_ext
    from timebank.ops.outbox import sweep
    from timebank.people.access import SYSTEM

    app = create_app({"LOG_REQUESTS": False})
    with app.app_context():
        redis_ext.connection.flushdb()
        info = seed(app, members=args.members, employers=args.employers, communities=args.communities,
                    per_member=args.per_member, rng=random.Random(7))
        print(f"seeded in {info['seconds']} s: {info}", flush=True)
        with smtp_server() as (mailbox, port):
            env.update({"TIMEBANK_SMTP_HOST": "127.0.0.1", "TIMEBANK_SMTP_PORT": str(port)})
            logdir = tempfile.mkdtemp(prefix="appraisal-bench-")
            logs = [open(f"{logdir}/w{i}.log", "w") for i in range(args.workers)]  # noqa: SIM115
            # `timebank worker reports`, started through Python so that its command line is our own.
            command = [sys.executable, "-c", "import sys; from timebank.__main__ import main; sys.exit(main())",
                       "worker", "reports"]
            workers = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True) for log in logs]
            time.sleep(3)  # let the workers import the app before the clock starts
            s = db.session
            started = time.perf_counter()
            period = appraisal.create_period(s, SYSTEM, district_id=info["district_id"], kind="year", year=YEAR)
            run = appraisal.start_run(s, SYSTEM, period.id)
            s.commit()
            run_id = run.id
            t_start = time.perf_counter() - started
            rendered_at = sent_at = None
            peaks = {w.pid: 0.0 for w in workers}
            while time.perf_counter() - started < 600:
                sweep(s, redis_ext.connection)  # what the cron scheduler does every few seconds
                s.rollback()
                for w in workers:
                    peaks[w.pid] = max(peaks[w.pid], vm_hwm_mb(w.pid))
                progress = appraisal.progress(s, SYSTEM, run_id)
                queued = s.scalar(select(func.count()).select_from(ReportDelivery))
                if rendered_at is None and progress["status"] == "done" and queued >= progress["reports_total"]:
                    rendered_at = time.perf_counter() - started
                    print(f"rendered and queued: {rendered_at:.1f} s {progress}", flush=True)
                sent = s.scalar(select(func.count()).select_from(ReportDelivery)
                                .where(ReportDelivery.status == "sent"))
                s.rollback()
                if rendered_at is not None and sent >= progress["reports_total"]:
                    sent_at = time.perf_counter() - started
                    break
                time.sleep(0.5)
            for w in workers:
                peaks[w.pid] = max(peaks[w.pid], vm_hwm_mb(w.pid))
                w.send_signal(signal.SIGTERM)
            for w in workers:
                w.wait(timeout=30)
            for log in logs:
                log.close()
            mails = len(mailbox.messages)
        progress = appraisal.progress(s, SYSTEM, run_id)
        sizes = [len(r) for r in s.scalars(select(AppraisalReport.pdf))]
        print(f"run start (reports + entries opened): {t_start:.1f} s")
        print(f"all {progress['reports_total']} reports rendered + deliveries queued: {rendered_at} s "
              f"(target <= 120 s); all e-mails sent: {sent_at} s; mails received: {mails}")
        print(f"members {progress['total']}, done {progress['done']}, errors {progress['errors']}")
        print(f"PDF size: mean {sum(sizes) / max(len(sizes), 1) / 1024:.0f} KiB, max {max(sizes) / 1024:.0f} KiB")
        print("worker peak RSS (VmHWM) MB: " + ", ".join(f"{v:.0f}" for v in peaks.values()) + " (target <= 300)")
        if args.png:
            report = s.scalar(select(AppraisalReport).order_by(AppraisalReport.id).limit(1))
            with tempfile.TemporaryDirectory() as tmp:
                Path(tmp, "r.pdf").write_bytes(report.pdf)
                subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "2", f"{tmp}/r.pdf",
                                f"{tmp}/page"], check=True)
                pages = sorted(Path(tmp).glob("page-*.png"))
                for i, page in enumerate(pages, 1):
                    target = Path(args.png).with_name(Path(args.png).stem + f"-{i}.png")
                    target.write_bytes(page.read_bytes())
                    print(f"wrote {target}")
    if args.pgbench:
        print(f"pgbench -c 8 -j 2 -T 15 (reference, same machine): {pgbench(args.db)}")


if __name__ == "__main__":
    main()
