"""Ratings (评价): the resident served rates a fulfilled need once, 1–5 stars and a comment.

Ratings feed the appraisal reports: a rating belongs to the need, whose task's accepted attendances say
which volunteers served it (`ratings_for_people`).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.errors import Conflict, InvalidInput, RuleViolation
from timebank.hours import needs
from timebank.hours.models import Attendance, AttendanceStatus, NeedStatus, Rating, Task
from timebank.ops import audit
from timebank.people.access import Actor


def rate(session: Session, actor: Actor, need_id: int, *, stars: int, comment: str = "") -> Rating:
    need = needs.get(session, need_id)
    actor.require_person(need.requester_id)
    if not 1 <= stars <= 5:
        raise InvalidInput("stars_range")
    if need.fulfilled_at is None or need.status not in (NeedStatus.fulfilled, NeedStatus.closed):
        raise RuleViolation("need_not_fulfilled")
    rating = Rating(need_id=need.id, rater_id=actor.person_id, community_id=need.community_id, stars=stars,
                    comment=comment)
    try:
        with session.begin_nested():
            session.add(rating)
    except IntegrityError as exc:
        raise Conflict("already_rated") from exc
    audit.record(session, actor, "need.rate", "need", need.id, org_path=need.org_path,
                 after={"stars": stars})
    return rating


def ratings_for_people(session: Session, person_ids: list[int]) -> dict[int, tuple[int, float]]:
    """{person_id: (number of ratings, average stars)} over needs they served with an accepted attendance."""
    rows = session.execute(
        select(Attendance.person_id, func.count(func.distinct(Rating.id)), func.avg(Rating.stars))
        .join(Task, Task.id == Attendance.task_id)
        .join(Rating, Rating.need_id == Task.need_id)
        .where(Attendance.person_id.in_(person_ids), Attendance.status == AttendanceStatus.accepted)
        .group_by(Attendance.person_id)
    ).all()
    return {pid: (int(n), float(avg)) for pid, n, avg in rows}
