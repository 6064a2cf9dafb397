"""Teams and their members: a community admin (or a unit's contact, for the unit's own team) creates a team and
names its leader; volunteers apply; the leader or an admin in scope approves or refuses with a reason; members
leave; the leader removes. A person may be in several teams; one membership row per team and person."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank import labels
from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound, get_or_404
from timebank.ops import audit
from timebank.people import orgs
from timebank.people.access import ADMIN_ROLES, Actor
from timebank.people.models import Employer, OrgKind, Person
from timebank.teams import notices
from timebank.teams.models import MemberRole, MemberStatus, Team, TeamKind, TeamMember, TeamStatus

MAX_NAME, MAX_DESCRIPTION, MAX_REASON, MAX_NOTE = 60, 2000, 500, 200


def get(session: Session, team_id: int, *, lock: bool = False) -> Team:
    return get_or_404(session, Team, team_id, "team_not_found", with_for_update=lock or None)


def manages(actor: Actor, team: Team) -> bool:
    """An admin over the team's community, or a contact of the unit whose team it is."""
    return actor.has_role_on(ADMIN_ROLES, team.org_path) or (
        team.employer_id is not None and team.employer_id in actor.employer_ids())


def leads(actor: Actor, team: Team) -> bool:
    """The team's leader, or whoever manages the team."""
    return (actor.person_id is not None and actor.person_id == team.leader_id) or manages(actor, team)


def require_leads(actor: Actor, team: Team) -> None:
    if not leads(actor, team):
        raise Forbidden("team_leader_only")


def require_manages(actor: Actor, team: Team) -> None:
    if not manages(actor, team):
        raise Forbidden("out_of_scope")


def _require_active(team: Team) -> None:
    if team.status != TeamStatus.active:
        raise Conflict("team_dissolved")


def _fields(name: str, kind: TeamKind, profession: str | None, description: str) -> tuple[str, str | None, str]:
    name, description = (name or "").strip(), (description or "").strip()
    if not name:
        raise InvalidInput("team_name_required")
    if len(name) > MAX_NAME:
        raise InvalidInput("team_name_too_long", max_chars=MAX_NAME)
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput("team_description_too_long", max_chars=MAX_DESCRIPTION)
    profession = (profession or "").strip() or None
    if kind == TeamKind.professional:
        if profession is None:
            raise InvalidInput("team_profession_required")
        if profession not in labels.PROFESSIONS:
            raise InvalidInput("team_profession_unknown")
    elif profession is not None:
        raise InvalidInput("team_profession_unexpected")
    return name, profession, description


def _leader(session: Session, leader_id: int) -> Person:
    person = session.get(Person, leader_id)
    if person is None or not person.is_active:
        raise InvalidInput("team_leader_unknown")
    return person


def create(session: Session, actor: Actor, *, community_id: int, name: str, leader_id: int,
           kind: TeamKind = TeamKind.general, profession: str | None = None, description: str = "",
           employer_id: int | None = None) -> Team:
    """A team in a community. An admin over the community creates any team; a unit's contact creates the unit's
    own team (employer_id set) in any community. The leader becomes the team's first member."""
    community = orgs.get(session, community_id)
    if community.kind != OrgKind.community:
        raise InvalidInput("team_needs_community")
    if employer_id is not None:
        if session.get(Employer, employer_id) is None:
            raise NotFound("employer_not_found")
        if not actor.has_role_on(ADMIN_ROLES, community.path):
            actor.require_employer(employer_id)
    else:
        actor.require_on(ADMIN_ROLES, community.path)
    name, profession, description = _fields(name, kind, profession, description)
    _leader(session, leader_id)
    if session.scalar(select(Team.id).where(Team.org_id == community.id, Team.name == name)) is not None:
        raise Conflict("team_name_taken")
    team = Team(name=name, kind=kind, profession=profession, org_id=community.id, org_path=community.path,
                employer_id=employer_id, leader_id=leader_id, description=description, status=TeamStatus.active,
                created_by_id=actor.person_id)
    try:
        with session.begin_nested():
            session.add(team)
            session.flush()
    except IntegrityError as exc:  # a twin request took the name first
        raise Conflict("team_name_taken") from exc
    now = utcnow()
    session.add(TeamMember(team_id=team.id, person_id=leader_id, status=MemberStatus.active,
                           role=MemberRole.leader, decided_by_id=actor.person_id, decided_at=now, joined_at=now))
    session.flush()
    audit.record(session, actor, "team.create", "team", team.id, org_path=team.org_path,
                 after={"name": name, "kind": str(kind), "profession": profession, "leader_id": leader_id,
                        "employer_id": employer_id})
    return team


def update(session: Session, actor: Actor, team_id: int, *, changes: dict) -> Team:
    """Rename, describe or hand the team to a new leader (who then is an active member; the old one stays a
    member), by whoever manages the team."""
    team = get(session, team_id, lock=True)
    require_manages(actor, team)
    _require_active(team)
    before, after = {}, {}
    name, _profession, description = _fields(changes.get("name", team.name), team.kind, team.profession,
                                             changes.get("description", team.description))
    if name != team.name:
        if session.scalar(select(Team.id).where(Team.org_id == team.org_id, Team.name == name)) is not None:
            raise Conflict("team_name_taken")
        before["name"], after["name"], team.name = team.name, name, name
    if description != team.description:
        before["description"], after["description"], team.description = team.description, description, description
    leader_id = changes.get("leader_id")
    if leader_id is not None and leader_id != team.leader_id:
        _leader(session, leader_id)
        now = utcnow()
        old = _membership(session, team.id, team.leader_id)
        if old is not None:
            old.role = MemberRole.member
        new = _membership(session, team.id, leader_id)
        if new is None:
            new = TeamMember(team_id=team.id, person_id=leader_id)
            session.add(new)
        if new.status != MemberStatus.active:
            new.status, new.joined_at, new.left_at = MemberStatus.active, now, None
            new.decided_by_id, new.decided_at, new.reason = actor.person_id, now, None
        new.role = MemberRole.leader
        before["leader_id"], after["leader_id"], team.leader_id = team.leader_id, leader_id, leader_id
    if not after:
        return team
    session.flush()
    audit.record(session, actor, "team.update", "team", team.id, org_path=team.org_path, before=before, after=after)
    return team


def dissolve(session: Session, actor: Actor, team_id: int) -> Team:
    """The team ends (its members' history and hours stay); an admin or the unit's contact."""
    team = get(session, team_id, lock=True)
    require_manages(actor, team)
    _require_active(team)
    team.status, team.dissolved_at = TeamStatus.dissolved, utcnow()
    session.flush()
    audit.record(session, actor, "team.dissolve", "team", team.id, org_path=team.org_path,
                 before={"status": "active"}, after={"status": "dissolved"})
    return team


def _membership(session: Session, team_id: int, person_id: int, *, lock: bool = False) -> TeamMember | None:
    stmt = select(TeamMember).where(TeamMember.team_id == team_id, TeamMember.person_id == person_id)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def get_member(session: Session, member_id: int, *, lock: bool = False) -> TeamMember:
    return get_or_404(session, TeamMember, member_id, "team_member_not_found", with_for_update=lock or None)


def apply(session: Session, actor: Actor, team_id: int, *, note: str = "") -> TeamMember:
    """A volunteer asks to join; after a refusal or leaving, the same row is used again."""
    if actor.person_id is None:
        raise Forbidden("people_only")
    team = get(session, team_id)
    _require_active(team)
    note = (note or "").strip()[:MAX_NOTE]
    row = _membership(session, team.id, actor.person_id, lock=True)
    if row is not None:
        if row.status == MemberStatus.active:
            raise Conflict("team_already_member")
        if row.status == MemberStatus.applied:
            raise Conflict("team_already_applied")
        row.status, row.note, row.created_at = MemberStatus.applied, note, utcnow()
        row.decided_by_id = row.decided_at = row.reason = row.left_at = None
        row.role = MemberRole.member
    else:
        row = TeamMember(team_id=team.id, person_id=actor.person_id, status=MemberStatus.applied,
                         role=MemberRole.member, note=note)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError as exc:  # a double submit inserted it first
            raise Conflict("team_already_applied") from exc
    session.flush()
    return row


def decide(session: Session, actor: Actor, member_id: int, *, approve: bool, reason: str | None = None) -> TeamMember:
    """The leader (or an admin over the team) approves an application, or refuses it with a reason the applicant
    reads."""
    row = get_member(session, member_id, lock=True)
    team = row.team
    require_leads(actor, team)
    _require_active(team)
    if row.status != MemberStatus.applied:
        raise Conflict("team_member_state")
    reason = (reason or "").strip()[:MAX_REASON] or None
    if not approve and reason is None:
        raise InvalidInput("team_reason_required")
    now = utcnow()
    row.status = MemberStatus.active if approve else MemberStatus.refused
    row.decided_by_id, row.decided_at, row.reason = actor.person_id, now, reason
    if approve:
        row.joined_at = now
    session.flush()
    audit.record(session, actor, "team_member.decide", "team_member", row.id, org_path=team.org_path,
                 before={"status": "applied"}, after={"status": str(row.status), "reason": reason})
    notices.application_decided(session, team, row)
    return row


def leave(session: Session, actor: Actor, team_id: int) -> TeamMember:
    """A member leaves the team (the leader hands the team over first)."""
    if actor.person_id is None:
        raise Forbidden("people_only")
    team = get(session, team_id)
    row = _membership(session, team.id, actor.person_id, lock=True)
    if row is None or row.status not in (MemberStatus.active, MemberStatus.applied):
        raise Conflict("team_not_member")
    if team.leader_id == actor.person_id:
        raise Conflict("team_leader_cannot_leave")
    row.status, row.left_at = MemberStatus.left, utcnow()
    session.flush()
    return row


def remove(session: Session, actor: Actor, member_id: int, *, reason: str) -> TeamMember:
    """The leader (or an admin over the team) removes a member, with a reason the member reads."""
    row = get_member(session, member_id, lock=True)
    team = row.team
    require_leads(actor, team)
    if row.status != MemberStatus.active:
        raise Conflict("team_member_state", variant="remove")
    if row.person_id == team.leader_id:
        raise Conflict("team_leader_cannot_leave")
    reason = (reason or "").strip()[:MAX_REASON]
    if not reason:
        raise InvalidInput("team_reason_required")
    now = utcnow()
    row.status, row.left_at, row.decided_by_id, row.decided_at, row.reason = (
        MemberStatus.left, now, actor.person_id, now, reason)
    session.flush()
    audit.record(session, actor, "team_member.remove", "team_member", row.id, org_path=team.org_path,
                 before={"status": "active"}, after={"status": "left", "reason": reason})
    notices.member_removed(session, team, row)
    return row


def list_stmt(*, community_id: int | None = None, employer_id: int | None = None, kind: TeamKind | None = None,
              profession: str | None = None, q: str | None = None, include_dissolved: bool = False):
    """Teams to browse: a community's (or a unit's), by kind, profession or a word of the name."""
    stmt = select(Team)
    if not include_dissolved:
        stmt = stmt.where(Team.status == TeamStatus.active)
    if community_id is not None:
        stmt = stmt.where(Team.org_id == community_id)
    if employer_id is not None:
        stmt = stmt.where(Team.employer_id == employer_id)
    if kind is not None:
        stmt = stmt.where(Team.kind == kind)
    if profession:
        stmt = stmt.where(Team.profession == profession)
    if q and q.strip():
        stmt = stmt.where(Team.name.contains(q.strip()[:MAX_NAME], autoescape=True))
    return stmt


def members_stmt(team: Team, *, status: MemberStatus | None = MemberStatus.active):
    stmt = select(TeamMember).where(TeamMember.team_id == team.id)
    if status is not None:
        stmt = stmt.where(TeamMember.status == status)
    return stmt


def visible_members_stmt(actor: Actor, team: Team, *, status: MemberStatus | None = None):
    """Anyone signed in reads who is in a team; applications, refusals and leavers only the leader and managers."""
    if status != MemberStatus.active and not leads(actor, team):
        if status is not None:
            raise Forbidden("team_leader_only")
        status = MemberStatus.active
    return members_stmt(team, status=status)


def member_counts(session: Session, team_ids: list[int]) -> dict[int, int]:
    if not team_ids:
        return {}
    return dict(session.execute(select(TeamMember.team_id, func.count()).where(
        TeamMember.team_id.in_(team_ids), TeamMember.status == MemberStatus.active)
        .group_by(TeamMember.team_id)).all())


def my_memberships(session: Session, person_id: int) -> list[TeamMember]:
    """The person's teams (applied or in), newest first."""
    return list(session.scalars(select(TeamMember).where(
        TeamMember.person_id == person_id, TeamMember.status.in_((MemberStatus.applied, MemberStatus.active)))
        .order_by(TeamMember.id.desc())))
