"""Read views over teams: a team's hours and the team honour board (团队光荣榜).

Minutes count as on the volunteers' honour board (`hours.queries.credited`: credited by the ledger, not reversed),
by the Beijing day of the service. Two figures, labelled apart (`labels.TEAM_HOURS`):
- all minutes: every credited minute in the period of the team's present active members (the issue's "the sum of
  its members'"), wherever they served;
- team-task minutes: credited minutes on the team's own claims (slots the team took for them).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.errors import InvalidInput
from timebank.hours import queries as hours_views
from timebank.hours.models import Attendance, Claim, Verification
from timebank.people.models import Org, OrgKind, Person
from timebank.teams.models import MemberRole, MemberStatus, Team, TeamClaim, TeamMember, TeamStatus

Period = hours_views.Period


def period_of(text: str | None) -> Period:
    """"year" (this year, the default, as on the volunteers' honour board), "month" (this month), or a period as
    `hours.queries.parse_period` reads it (2025, 2025-H1, 2025-Q3, 2025-07)."""
    today = utcnow().astimezone(DISPLAY_TZ)
    text = (text or "year").strip()
    if text == "month":
        text = today.strftime("%Y-%m")
    elif text == "year":
        text = str(today.year)
    return hours_views.parse_period(text)


@dataclass(frozen=True)
class MemberHours:
    person_id: int
    name: str
    role: str
    minutes: int
    team_task_minutes: int


@dataclass(frozen=True)
class TeamHours:
    team_id: int
    period: str
    members: int
    all_minutes: int
    team_task_minutes: int
    items: list[MemberHours]


def _in_period(period: Period):
    return (Verification.served_on >= period.start, Verification.served_on < period.end)


def team_hours(session: Session, team: Team, period: Period) -> TeamHours:
    """The team's hours in the period, in total and per active member."""
    members = session.execute(
        select(TeamMember.person_id, Person.name, TeamMember.role).join(Person, Person.id == TeamMember.person_id)
        .where(TeamMember.team_id == team.id, TeamMember.status == MemberStatus.active)
        .order_by(TeamMember.role != MemberRole.leader, TeamMember.id)).all()
    ids = [m[0] for m in members]
    all_by, team_by = {}, {}
    if ids:
        all_by = dict(session.execute(
            select(Verification.person_id, func.sum(Verification.minutes_accepted))
            .where(Verification.person_id.in_(ids), *hours_views.credited(), *_in_period(period))
            .group_by(Verification.person_id)).all())
    team_by = dict(session.execute(
        select(Verification.person_id, func.sum(Verification.minutes_accepted))
        .join(Attendance, Attendance.id == Verification.attendance_id)
        .join(Claim, Claim.id == Attendance.claim_id)
        .join(TeamClaim, TeamClaim.id == Claim.team_claim_id)
        .where(TeamClaim.team_id == team.id, *hours_views.credited(), *_in_period(period))
        .group_by(Verification.person_id)).all())
    items = [MemberHours(pid, name, str(role), int(all_by.get(pid) or 0), int(team_by.get(pid) or 0))
             for pid, name, role in members]
    items.sort(key=lambda m: (-m.minutes, m.person_id))
    return TeamHours(team.id, period.label, len(ids), sum(m.minutes for m in items),
                     sum(int(v or 0) for v in team_by.values()), items)


def honour_board(session: Session, org: Org, period: Period, *, limit: int = 20) -> list[dict]:
    """Teams of a community (or of every community under a street or district) ranked by their active members'
    credited minutes in the period (ties: more members, then the older team); teams with no minutes are left out."""
    if org.kind not in (OrgKind.community, OrgKind.street, OrgKind.district):
        raise InvalidInput("team_needs_community")
    minutes = func.sum(Verification.minutes_accepted)
    per_team = (
        select(TeamMember.team_id.label("team_id"), minutes.label("minutes"))
        .join(Verification, Verification.person_id == TeamMember.person_id)
        .join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.status == MemberStatus.active, Team.status == TeamStatus.active,
               Team.org_path.startswith(org.path, autoescape=True), *hours_views.credited(), *_in_period(period))
        .group_by(TeamMember.team_id).subquery())
    counts = (select(TeamMember.team_id.label("team_id"), func.count().label("n"))
              .where(TeamMember.status == MemberStatus.active).group_by(TeamMember.team_id).subquery())
    rows = session.execute(
        select(Team.id, Team.name, Team.kind, Team.profession, Team.org_id, per_team.c.minutes, counts.c.n)
        .join(per_team, per_team.c.team_id == Team.id).join(counts, counts.c.team_id == Team.id)
        .where(per_team.c.minutes > 0)
        .order_by(per_team.c.minutes.desc(), counts.c.n.desc(), Team.id).limit(limit)).all()
    names = dict(session.execute(select(Org.id, Org.name).where(Org.id.in_({r[4] for r in rows}))).all()) \
        if rows else {}
    return [{"rank": i, "team_id": tid, "name": name, "kind": str(kind), "profession": profession,
             "community": names.get(org_id, ""), "minutes": int(m), "members": int(n)}
            for i, (tid, name, kind, profession, org_id, m, n) in enumerate(rows, start=1)]
