"""Service history for appraisal tests, built through the hours services (publish, claim, confirm, verify,
credit) on a movable clock, exactly as the app builds it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tests.clock import Clock, install_clock  # noqa: F401 - re-exported for the appraisal tests
from timebank.demo import COLOURS
from timebank.hours import attendance, claims, needs, ratings, tasks, verification
from timebank.hours.models import Decision, Eligibility, NeedKind, TaskScope
from timebank.ops.outbox import due_topics
from timebank.people.access import load_person_actor
from timebank.people.models import Person, Role
from timebank.workers.outbox import drain_topic


@dataclass
class Community:
    """The staff of one community who publish, confirm and verify."""

    session: object
    clock: Clock
    org: object
    grid: object
    admin: Person
    worker: Person
    resident: Person

    def actor(self, person: Person):
        return load_person_actor(self.session, person)

    def _task(self, title: str, category: str, minutes: int, scope: TaskScope, need_id: int | None = None,
              lead: timedelta = timedelta(hours=1), employer_id: int | None = None):
        start = self.clock.now + lead
        extra = {}
        if scope == TaskScope.organisation:  # 重点项目: for one employer's members
            extra = {"eligibility": Eligibility.employer, "eligible_employer_id": employer_id}
        return tasks.publish(self.session, self.actor(self.admin), org_id=self.grid.id, title=title,
                             category=category, place="社区服务站", starts_at=start,
                             ends_at=start + timedelta(minutes=minutes), slots=5, need_id=need_id, scope=scope,
                             **extra)

    def serve(self, member: Person, *, minutes: int = 90, category: str = "红色先锋",
              scope: TaskScope = TaskScope.individual, title: str = "楼道清扫", micro_wish: bool = False,
              stars: int | None = None):
        """The member claims, serves on site, the grid worker confirms, the admin verifies. Returns attendance."""
        need_id = None
        if micro_wish:
            need = needs.post(self.session, self.actor(self.resident), kind=NeedKind.micro_wish,
                              org_id=self.grid.id, title=f"微心愿:{title}", category=category)
            need_id = need.id
        employer_id = member.party_member.employer_id if member.party_member else None
        task = self._task(title, category, minutes, scope, need_id, employer_id=employer_id)
        claim = claims.claim(self.session, self.actor(member), task.id)
        self.clock.advance(minutes=60 + minutes + 1)
        row = attendance.confirm(self.session, self.actor(self.worker), claim_id=claim.id,
                                 checked_in_at=task.starts_at, checked_out_at=task.ends_at)
        verification.verify(self.session, self.actor(self.admin), row.id, decision=Decision.accepted)
        if stars is not None:
            ratings.rate(self.session, self.actor(self.resident), need_id, stars=stars, comment="很好")
        self.clock.advance(hours=1)
        self.session.commit()
        return row

    def no_show(self, member: Person):
        task = self._task("敬老院探访", "金色助老", 60, TaskScope.individual)
        claim = claims.claim(self.session, self.actor(member), task.id)
        self.clock.advance(hours=1, minutes=5)
        claims.mark_no_show(self.session, self.actor(self.worker), claim.id)
        self.clock.advance(hours=2)
        self.session.commit()

    def late_withdrawal(self, member: Person):
        task = self._task("垃圾分类宣传", "绿色环保", 60, TaskScope.individual, lead=timedelta(hours=3))
        claim = claims.claim(self.session, self.actor(member), task.id)
        claims.withdraw(self.session, self.actor(member), claim.id)
        self.clock.advance(hours=5)
        self.session.commit()

    def uphold_complaint(self, attendance_id: int, reason: str = "经核实未实际到场"):
        complaint = verification.file_complaint(self.session, self.actor(self.admin), attendance_id,
                                                text="群众反映未到场")
        verification.decide_complaint(self.session, self.actor(self.admin), complaint.id, uphold=True,
                                      reason=reason)
        self.session.commit()


def community(session, clock, tree, make_person, org) -> Community:
    tree.district.settings = {"categories": COLOURS, "points_per_hour": 10, "daily_minutes_cap": 480}
    session.commit()
    admin = make_person("社区书记", org, roles=((Role.community_admin, org),))
    grid = tree.grid_a if org.id == tree.community_a.id else tree.grid_b
    worker = make_person("网格员", grid, roles=((Role.grid_worker, grid),))
    resident = make_person("李奶奶", grid)
    return Community(session, clock, org, grid, admin, worker, resident)


def work(session, run_jobs) -> None:
    """What the cron sweep and the workers do: hand due outbox topics to RQ and run the jobs to the end."""
    from timebank.extensions import redis_ext
    from timebank.ops.outbox import sweep

    for _ in range(10):
        session.rollback()
        if not due_topics(session):
            return
        sweep(session, redis_ext.connection)
        run_jobs()


def drain_all(session) -> None:
    """Run every due outbox topic in-process (credit first: the ledger must hold what reports count)."""
    for _ in range(5):
        topics = sorted(due_topics(session), key=lambda t: (t != "credit", t))
        if not topics:
            return
        for topic in topics:
            drain_topic(session, topic)
