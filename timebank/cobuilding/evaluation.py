"""双评议, the community's half: once a year an admin over the community evaluates each unit reported in to it
— a grade (好/较好/一般/差) and a score of 1–5 for each aspect (`EVALUATION_ASPECTS`) with a comment. A second
evaluation of the same unit, community and year is refused (409); the database holds the same rule."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.clock import local_today
from timebank.cobuilding.models import EVALUATION_ASPECTS, UnitEvaluation, UnitGrade
from timebank.cobuilding.report_in import get_for_admin, get_visible, was_accepted
from timebank.db_base import utcnow
from timebank.errors import Conflict, InvalidInput
from timebank.ops import audit
from timebank.people.access import Actor


def evaluate(session: Session, actor: Actor, report_in_id: int, *, year: int | None = None, grade: UnitGrade,
             scores: dict[str, int], comment: str | None = None) -> UnitEvaluation:
    row = get_for_admin(session, actor, report_in_id)
    if not was_accepted(row):
        raise Conflict("unit_not_reported_in")
    year = year or local_today().year
    if not row.reported_on.year <= year <= local_today().year:
        raise InvalidInput("evaluation_year")
    if set(scores) != set(EVALUATION_ASPECTS) or not all(1 <= int(v) <= 5 for v in scores.values()):
        raise InvalidInput("evaluation_scores")
    taken = session.scalar(select(UnitEvaluation.id).where(
        UnitEvaluation.employer_id == row.employer_id, UnitEvaluation.community_id == row.community_id,
        UnitEvaluation.year == year))
    if taken is not None:
        raise Conflict("unit_already_evaluated")
    ev = UnitEvaluation(report_in_id=row.id, employer_id=row.employer_id, community_id=row.community_id,
                        community_path=row.community_path, year=year, grade=grade, comment=comment,
                        evaluated_by_id=actor.person_id, evaluated_at=utcnow(),
                        **{f"{aspect}_score": int(scores[aspect]) for aspect in EVALUATION_ASPECTS})
    session.add(ev)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # two admins evaluating at the same moment
        raise Conflict("unit_already_evaluated") from exc
    audit.record(session, actor, "unit_evaluation.record", "unit_evaluation", ev.id, org_path=row.community_path,
                 after={"employer_id": row.employer_id, "year": year, "grade": str(grade), **scores})
    return ev


def list_for(session: Session, actor: Actor, report_in_id: int) -> list[UnitEvaluation]:
    """Every year's evaluation of the unit by this community (the unit reads its own; readers in scope)."""
    row = get_visible(session, actor, report_in_id)
    return list(session.scalars(select(UnitEvaluation).where(
        UnitEvaluation.employer_id == row.employer_id, UnitEvaluation.community_id == row.community_id)
        .order_by(UnitEvaluation.year.desc())))


def scores_of(ev: UnitEvaluation) -> dict[str, int]:
    return {aspect: getattr(ev, f"{aspect}_score") for aspect in EVALUATION_ASPECTS}
