"""Overdue-needs and project-list benchmark on PostgreSQL (run once, at the end; it rebuilds the schema of --db).

A city as `bench/appraisal_bench.py` seeds it: a district, 10 streets, 100 communities with 3 grids each, 6,000
in-service members living there; then half a year of residents' needs (300 per community: 30,000), in bulk:
most fulfilled or closed on time, some rejected, some still open or accepted / claimed within their deadline,
and about one in twelve overdue (open past the response deadline, or accepted / claimed past the fulfilment one),
a part of those already escalated, with micro-wish claims. District policy: `need_deadlines` per category.
Then the project list (项目清单): 20 projects per community (2,000) made from those needs, four in five claimed by one
of 200 reported-in units, most of them with two tasks each served by three volunteers (credited verifications).

Then `timebank.wsgi:app` is served by gunicorn (4 workers) and a street admin and the district admin each open
the overdue list page (`/console/needs?status=overdue`, signed in with a page session) over and over, first from
one client (an admin opening the page: the latency the target is about), then from 4 client threads at once;
the API list (`/api/needs?overdue=true`) is measured the same way; then the project list page (`/console/projects`)
for the street and the district admin, and the API list (`/api/projects?org_id=<district>`). The reference is
`bench/minimal_app.py`'s GET (one Flask + SQLAlchemy count) served the same way in the same run. Reported: p50,
p95, p99 latency of each (target: each page's p95 <= 200 ms), and a check that the pages list what the rows say.

    .venv/bin/python bench/needs_bench.py --db postgresql://postgres@127.0.0.1:5432/<db> \
        --redis redis://127.0.0.1:6379/<n> [--requests 400]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
COLOURS = ["红色先锋", "橙色关爱", "绿色环保", "金色助老", "蓝色平安"]
POLICY = {"金色助老": {"respond_hours": 12, "fulfil_days": 3}, "*": {"respond_hours": 24, "fulfil_days": 7}}
PASSWORD = "bench-pass-1"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


def env_for(db: str, redis_url: str) -> dict:
    return {**os.environ, "TIMEBANK_DATABASE_URL": db, "TIMEBANK_REDIS_URL": redis_url,
            "TIMEBANK_LOG_LEVEL": "WARNING", "TIMEBANK_SECRET_KEY": "bench-secret", "PYTHONPATH": str(ROOT)}


def seed(app, *, members: int, communities: int, per_community: int, rng: random.Random) -> dict:
    """Fresh schema from the migrations, then the city and its half year of needs in bulk."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, text

    from timebank.extensions import db
    from timebank.hours.models import Need, NeedEscalation, WishClaim
    from timebank.people import security
    from timebank.people.models import Org, Person, RoleGrant

    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(revision="heads")
    s = db.session
    now = datetime.now(UTC).replace(microsecond=0)

    def bulk(model, rows):
        for i in range(0, len(rows), 5000):
            s.execute(insert(model), rows[i:i + 5000])

    orgs, oid = [], 0

    def org(kind, name, parent_path):
        nonlocal oid
        oid += 1
        orgs.append({"id": oid, "kind": kind, "name": name, "parent_id": int(parent_path.strip("/").split("/")[-1])
                     if parent_path != "/" else None, "path": f"{parent_path}{oid}/", "settings": {},
                     "created_at": now})
        return oid, f"{parent_path}{oid}/"

    district_id, district_path = org("district", "基准区", "/")
    orgs[0]["settings"] = {"categories": COLOURS, "points_per_hour": 10, "need_deadlines": POLICY}
    streets, community_of_grid, grids, community_path = [], {}, [], {}
    for st in range(10):
        sid, spath = org("street", f"第{st + 1}街道", district_path)
        streets.append((sid, spath))
        for c in range(communities // 10):
            cid, cpath = org("community", f"第{st + 1}街道第{c + 1}社区", spath)
            community_path[cid] = cpath
            for g in range(3):
                gid, gpath = org("grid", f"网格{g + 1}", cpath)
                grids.append((gid, gpath, cid, cpath))
                community_of_grid[gid] = cid
    bulk(Org, orgs)

    people, pid = [], 0
    password_hash = security.hash_password(PASSWORD)

    def person(name, home, login=False):
        nonlocal pid
        pid += 1
        people.append({"id": pid, "name": name, "phone": f"13{pid:09d}", "home_org_id": home, "is_active": True,
                       "token_version": 1, "created_at": now, "password_hash": password_hash if login else None})
        return pid

    district_admin = person("区管理员", district_id, login=True)
    street_admins = {sid: person(f"街道管理员{sid}", sid, login=True) for sid, _ in streets}
    residents = {g[0]: person(f"居民{g[0]}", g[0]) for g in grids}
    volunteers = [person(rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), rng.choice(grids)[0])
                  for _ in range(members)]
    bulk(Person, people)
    grants = [{"person_id": district_admin, "role": "district_admin", "org_id": district_id, "created_at": now}]
    grants += [{"person_id": p, "role": "street_admin", "org_id": sid, "created_at": now}
               for sid, p in street_admins.items()]
    bulk(RoleGrant, grants)

    needs, escalations, claims, nid = [], [], [], 0
    street_of_path = {path: sid for sid, path in streets}
    for gid, gpath, cid, cpath in grids:
        spath = cpath.rsplit("/", 2)[0] + "/"
        for _ in range(per_community // 3):
            nid += 1
            category = rng.choice(COLOURS)
            rule = POLICY.get(category, POLICY["*"])
            created = now - timedelta(minutes=rng.randrange(0, 180 * 24 * 60))
            respond_by = created + timedelta(hours=rule["respond_hours"])
            fulfil_by = created + timedelta(days=rule["fulfil_days"])
            kind = "micro_wish" if rng.random() < 0.35 else "request"
            row = {"id": nid, "kind": kind, "org_id": gid, "org_path": gpath, "community_id": cid,
                   "requester_id": residents[gid], "entered_by_id": residents[gid], "title": f"需求{nid}",
                   "description": "", "category": category, "wanted_by": None, "status": "open",
                   "reject_reason": None, "decided_by_id": None, "decided_at": None, "fulfilled_at": None,
                   "closed_at": None, "created_at": created, "respond_by": respond_by, "fulfil_by": fulfil_by,
                   "responded_at": None, "handling_org_id": gid, "handling_path": gpath, "escalation_level": 0,
                   "escalated_at": None}
            roll = rng.random()
            responded = created + timedelta(hours=rng.choice([1, 2, 5, 10, 20, 30]))
            if roll < 0.08 and responded < now:
                row.update(status="rejected", reject_reason="不属于服务范围", responded_at=responded,
                           decided_at=responded)
            elif roll < 0.83:  # handled: fulfilled (then mostly closed), on time or late
                done = responded + timedelta(hours=rng.choice([5, 20, 48, 100, 200]))
                if done >= now:
                    row.update(status="accepted" if kind == "request" else "claimed", responded_at=min(responded, now))
                else:
                    row.update(status=rng.choice(["fulfilled", "closed"]), responded_at=responded,
                               fulfilled_at=done, closed_at=done if rng.random() < 0.5 else None)
            elif roll < 0.91:  # still waiting to be answered (overdue when older than the response deadline)
                pass
            else:  # accepted / claimed and not fulfilled (overdue once past the fulfilment deadline)
                row.update(status="accepted" if kind == "request" else "claimed", responded_at=min(responded, now))
            if row["status"] == "claimed":
                claims.append({"need_id": nid, "community_id": cid, "person_id": rng.choice(volunteers),
                               "employer_id": None, "status": "claimed", "way": "service", "goods_description": "",
                               "people_helped": None, "claimed_at": row["responded_at"]})
            elif kind == "micro_wish" and row["status"] in ("fulfilled", "closed"):
                claims.append({"need_id": nid, "community_id": cid, "person_id": rng.choice(volunteers),
                               "employer_id": None, "status": "confirmed", "way": "goods",
                               "goods_description": "生活用品", "people_helped": rng.randint(1, 4),
                               "claimed_at": row["responded_at"], "fulfilled_at": row["fulfilled_at"],
                               "confirmed_at": row["fulfilled_at"]})
            overdue = ((row["status"] == "open" and respond_by < now)
                       or (row["status"] in ("accepted", "claimed") and fulfil_by < now))
            if overdue and rng.random() < 0.6:  # the sweep already took one or two steps
                deadline = respond_by if row["status"] == "open" else fulfil_by
                steps = [(gid, cid, cpath), (cid, street_of_path[spath], spath)][:rng.choice([1, 2])]
                for level, (frm, to, to_path) in enumerate(steps, start=1):
                    at = deadline + timedelta(minutes=15 * level)
                    escalations.append({"need_id": nid, "level": level, "from_org_id": frm, "to_org_id": to,
                                        "by_id": None, "cause": "respond" if row["status"] == "open" else "fulfil",
                                        "reason": "", "created_at": at})
                    row.update(handling_org_id=to, handling_path=to_path, escalation_level=level, escalated_at=at)
            needs.append(row)
    bulk(Need, needs)
    bulk(NeedEscalation, escalations)
    for c in claims:
        c.setdefault("fulfilled_at", None)
        c.setdefault("confirmed_at", None)
    bulk(WishClaim, claims)
    projects = seed_projects(s, bulk, needs, community_path, volunteers, district_id, now, rng)
    for table in ("need", "project", "task", "claim", "attendance", "verification", "employer"):
        s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                       f"GREATEST((SELECT max(id) FROM {table}), 1))"))
    s.commit()
    s.execute(text("ANALYZE"))
    s.commit()
    return {"now": now, "needs": needs, "streets": streets, "district_path": district_path,
            "phones": {"district": f"13{district_admin:09d}",
                       **{sid: f"13{p:09d}" for sid, p in street_admins.items()}},
            "district_admin": district_admin, "escalations": len(escalations), "claims": len(claims),
            "projects": projects, "district_id": district_id}


def seed_projects(s, bulk, needs: list[dict], community_path: dict, volunteers: list[int], district_id: int,
                  now: datetime, rng: random.Random, per_community: int = 20, units: int = 200) -> list[dict]:
    """2,000 projects of the needs already answered, claimed by reported-in units, with served tasks."""
    from timebank.cobuilding.models import UnitReportIn
    from timebank.hours.models import Attendance, Claim, Task, Verification
    from timebank.people.models import Employer
    from timebank.projects.models import Project, ProjectClaim, ProjectNeed, ProjectTask

    employers = [{"id": e + 1, "name": f"驻区单位{e + 1}", "credit_code": f"91{e + 1:016d}", "org_id": district_id,
                  "contact_name": "联络人", "contact_email": None, "created_at": now} for e in range(units)]
    bulk(Employer, employers)
    report_ins, unit_of_community = [], {}
    for k, (cid, cpath) in enumerate(sorted(community_path.items())):
        chosen = [1 + (2 * k + j) % units for j in range(2)]
        unit_of_community[cid] = chosen
        report_ins += [{"employer_id": e, "community_id": cid, "community_path": cpath, "status": "active",
                        "party_org_name": f"驻区单位{e}党委", "contact_name": "联络人", "contact_phone": "13900000000",
                        "reported_on": (now - timedelta(days=200)).date(), "expires_on": (now + timedelta(days=165))
                        .date(), "decided_at": now - timedelta(days=199), "created_at": now - timedelta(days=200)}
                       for e in chosen]
    bulk(UnitReportIn, report_ins)
    free: dict[int, list[dict]] = {}
    for n in needs:
        if n["kind"] == "request" and n["status"] in ("accepted", "fulfilled", "closed"):
            free.setdefault(n["community_id"], []).append(n)
    projects, links, claims_rows, tasks, ptasks, claims, attendances, verifications = [], [], [], [], [], [], [], []
    pid = tid = cl = 0
    for cid, cpath in sorted(community_path.items()):
        pool = free.get(cid, [])
        for _ in range(per_community):
            if len(pool) < 2:
                break
            pid += 1
            mine = [pool.pop(), pool.pop()]
            status = rng.choices(["open", "claimed", "in_progress", "accepted", "closed"], [20, 15, 40, 15, 10])[0]
            starts = (now - timedelta(days=rng.randrange(0, 150))).date()
            projects.append({"id": pid, "community_id": cid, "community_path": cpath, "title": f"服务项目{pid}",
                             "tier": rng.choice(["basic", "key", "flagship"]), "category": mine[0]["category"],
                             "place": "社区活动中心", "goal": "为居民提供常态化服务", "starts_on": starts,
                             "ends_on": starts + timedelta(days=180), "budget_minutes": 6000, "budget_points": 1000,
                             "status": status, "created_by_id": 1, "created_at": now - timedelta(days=160),
                             "satisfaction": rng.randint(3, 5) if status in ("accepted", "closed") else None})
            links += [{"project_id": pid, "need_id": n["id"]} for n in mine]
            if status == "open":
                continue
            unit = rng.choice(unit_of_community[cid])
            claims_rows.append({"project_id": pid, "kind": "unit", "employer_id": unit, "person_id": 1,
                                "status": "active", "claimed_at": now - timedelta(days=150)})
            if status == "claimed":
                continue
            for t in range(2):
                tid += 1
                at = now - timedelta(days=rng.randrange(1, 140), hours=t)
                tasks.append({"id": tid, "community_id": cid, "org_id": cid, "org_path": cpath, "need_id": None,
                              "title": f"项目任务{tid}", "description": "", "category": mine[0]["category"],
                              "scope": "organisation", "place": "社区活动中心", "starts_at": at,
                              "ends_at": at + timedelta(hours=2), "slots": 3, "claimed": 3, "points_per_hour": 10,
                              "points_cap": None, "eligibility": "employer", "eligible_branch_id": None,
                              "eligible_employer_id": unit, "status": "published", "created_by_id": 1,
                              "created_at": at - timedelta(days=2)})
                ptasks.append({"project_id": pid, "task_id": tid})
                for person in rng.sample(volunteers, 3):
                    cl += 1
                    claims.append({"id": cl, "task_id": tid, "person_id": person, "status": "active",
                                   "created_at": at - timedelta(days=1)})
                    attendances.append({"id": cl, "claim_id": cl, "task_id": tid, "person_id": person,
                                        "community_id": cid, "org_path": cpath, "checked_in_at": at,
                                        "checked_out_at": at + timedelta(hours=2), "minutes": 120,
                                        "source": "late_entry", "reason": "补录", "recorded_by_id": 1,
                                        "status": "accepted", "created_at": at})
                    verifications.append({"id": cl, "attendance_id": cl, "decision": "accepted",
                                          "minutes_attended": 120, "minutes_accepted": 120, "points": 20,
                                          "category": mine[0]["category"], "person_id": person, "community_id": cid,
                                          "served_on": at.date(), "decided_by_id": 1, "decided_at": at,
                                          "credited_at": at + timedelta(minutes=1)})
    for model, rows in ((Project, projects), (ProjectNeed, links), (ProjectClaim, claims_rows), (Task, tasks),
                        (ProjectTask, ptasks), (Claim, claims), (Attendance, attendances),
                        (Verification, verifications)):
        bulk(model, rows)
    return projects


def expected_overdue(seed_data: dict, path: str, at: datetime) -> list[int]:
    """The overdue needs under `path` at `at`, from the seeded rows (newest first), as the page should list them."""
    ids = [n["id"] for n in seed_data["needs"]
           if (n["org_path"].startswith(path) or n["handling_path"].startswith(path)) and (
               (n["status"] == "open" and n["respond_by"] < at)
               or (n["status"] in ("accepted", "claimed") and n["fulfil_by"] < at))]
    return sorted(ids, reverse=True)


def wait_for_port(port: int, path: str = "/healthz", timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def serve(app_path: str, port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen([str(VENV_BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}", "--log-level",
                             "warning", app_path], env=env, cwd=ROOT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def page_login(port: int, phone: str) -> str:
    """Sign in on /console/login as a browser would; returns the session cookie."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/console/login")
    resp = conn.getresponse()
    body = resp.read().decode()
    cookie = resp.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    conn.request("POST", "/console/login", body=urlencode({"csrf_token": token, "phone": phone,
                                                          "password": PASSWORD}),
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 302, resp.status
    return resp.getheader("Set-Cookie").split(";", 1)[0]


def measure(port: int, path: str, headers: dict, *, requests: int, threads: int = 4) -> dict:
    """`requests` GETs of `path` from `threads` keep-alive clients; latency percentiles in ms."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    per_thread = requests // threads

    def run():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, codes = [], {}
        for _ in range(per_thread):
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            mine.append((time.perf_counter() - t) * 1000)
            codes[resp.status] = codes.get(resp.status, 0) + 1
        with lock:
            latencies.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    for _ in range(max(1, threads)):  # warm each worker's caches once
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers=headers)
        conn.getresponse().read()
    workers = [threading.Thread(target=run) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "statuses": statuses, "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies), 1), "p95_ms": round(cuts[94], 1),
            "p99_ms": round(cuts[98], 1)}


def fetch(port: int, path: str, headers: dict) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers)
    return conn.getresponse().read().decode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--redis", required=True)
    ap.add_argument("--members", type=int, default=6000)
    ap.add_argument("--communities", type=int, default=100)
    ap.add_argument("--per-community", type=int, default=300, help="needs per community over half a year")
    ap.add_argument("--requests", type=int, default=400, help="GETs per measured endpoint")
    ap.add_argument("--threads", type=int, default=4, help="client threads of the concurrent run")
    args = ap.parse_args()
    env = env_for(args.db, args.redis)
    os.environ.update({k: env[k] for k in ("TIMEBANK_DATABASE_URL", "TIMEBANK_REDIS_URL", "TIMEBANK_LOG_LEVEL",
                                           "TIMEBANK_SECRET_KEY")})
    from timebank import create_app
    from timebank.pages.console import NEED_PAGE

    app = create_app({"LOG_REQUESTS": False})
    results: dict = {}
    with app.app_context():
        t = time.monotonic()
        data = seed(app, members=args.members, communities=args.communities, per_community=args.per_community,
                    rng=random.Random(18))
        overdue_all = expected_overdue(data, data["district_path"], datetime.now(UTC))
        print(f"seeded {len(data['needs'])} needs ({len(overdue_all)} overdue, {data['escalations']} escalation "
              f"steps, {data['claims']} wish claims) and {len(data['projects'])} projects "
              f"in {time.monotonic() - t:.1f}s", flush=True)
        from timebank.people import security

        token = security.issue_token(app.config["SECRET_KEY"], data["district_admin"], 1)
    port = 8491
    server = serve("timebank.wsgi:app", port, env)
    try:
        wait_for_port(port)
        sid, spath = data["streets"][3]
        street_cookie = page_login(port, data["phones"][sid])
        district_cookie = page_login(port, data["phones"]["district"])
        # The page lists what the rows say: the newest overdue needs of the street (and of the district), a page
        # of them, then the next page from its "更早的需求" link.
        for label, cookie, path in (("street", street_cookie, spath), ("district", district_cookie,
                                                                       data["district_path"])):
            html = fetch(port, "/console/needs?status=overdue", {"Cookie": cookie})
            listed = [int(x) for x in re.findall(r'data-need-id="(\d+)" data-overdue="', html)]
            more = re.search(r'href="([^"]+)" rel="next"', html)
            html = fetch(port, more.group(1).replace("&amp;", "&"), {"Cookie": cookie})
            listed += [int(x) for x in re.findall(r'data-need-id="(\d+)" data-overdue="', html)]
            expected = expected_overdue(data, path, datetime.now(UTC))[:2 * NEED_PAGE]
            assert listed == expected, (label, listed[:5], expected[:5])
            results[f"{label}_overdue_total"] = len(expected_overdue(data, path, datetime.now(UTC)))
        print("the overdue pages list what the rows say", flush=True)
        for label, cookie, path in (("street", street_cookie, spath),
                                    ("district", district_cookie, data["district_path"])):
            html = fetch(port, "/console/projects", {"Cookie": cookie})
            listed = list(dict.fromkeys(int(x) for x in re.findall(r'/console/projects/(\d+)"', html)))
            expected = sorted((p["id"] for p in data["projects"] if p["community_path"].startswith(path)),
                              reverse=True)
            assert len(listed) >= 20 and listed == expected[:len(listed)], (label, listed[:5], expected[:5])
            results[f"{label}_projects_total"] = len(expected)
        print("the project list pages list what the rows say", flush=True)
        for label, path, headers in (
                ("page_street", "/console/needs?status=overdue", {"Cookie": street_cookie}),
                ("page_district", "/console/needs?status=overdue", {"Cookie": district_cookie}),
                ("api_district", "/api/needs?overdue=true&limit=50", {"Authorization": f"Bearer {token}"}),
                ("projects_page_street", "/console/projects", {"Cookie": street_cookie}),
                ("projects_page_district", "/console/projects", {"Cookie": district_cookie}),
                ("projects_api_district", f"/api/projects?org_id={data['district_id']}&limit=50",
                 {"Authorization": f"Bearer {token}"})):
            for clients in (1, args.threads):
                key = f"{label}_{clients}c"
                results[key] = measure(port, path, headers, requests=args.requests, threads=clients)
                print(key, results[key], flush=True)
    finally:
        stop(server)
    # The reference: a minimal Flask + SQLAlchemy GET (one count), same server, same load, same run.
    ref_env = {**env, "BENCH_DATABASE_URL": args.db.replace("postgresql://", "postgresql+psycopg://", 1)}
    subprocess.run([sys.executable, "-c", "import bench.minimal_app"], env=ref_env, cwd=ROOT, check=True)
    ref = serve("bench.minimal_app:app", port + 1, ref_env)
    try:
        wait_for_port(port + 1, "/read")
        for clients in (1, args.threads):
            key = f"minimal_read_{clients}c"
            results[key] = measure(port + 1, "/read", {}, requests=args.requests, threads=clients)
            print(key, results[key], flush=True)
    finally:
        stop(ref)
    results["target_p95_ms"] = 200
    for clients in (1, args.threads):
        for prefix in ("page", "projects_page"):
            worst = max(results[f"{prefix}_street_{clients}c"]["p95_ms"],
                        results[f"{prefix}_district_{clients}c"]["p95_ms"])
            results[f"{prefix}_p95_within_target_{clients}c"] = worst <= 200
        results[f"ratio_p95_overdue_page_to_minimal_{clients}c"] = round(
            results[f"page_district_{clients}c"]["p95_ms"] / results[f"minimal_read_{clients}c"]["p95_ms"], 1)
        results[f"ratio_p95_projects_page_to_minimal_{clients}c"] = round(
            results[f"projects_page_district_{clients}c"]["p95_ms"] / results[f"minimal_read_{clients}c"]["p95_ms"], 1)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
