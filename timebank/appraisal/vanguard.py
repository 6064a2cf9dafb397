"""先锋指数 (vanguard index): one number per member and period, from the appraisal metrics.

The formula and its default weights are documented in docs/vanguard_index.md. A district (or a street or
community below it) overrides any weight with the org setting `vanguard_weights`; the weights in force are
copied onto the run, so a report can always be recomputed the way it was issued.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.errors import InvalidInput
from timebank.people import orgs
from timebank.people.models import Org

DEFAULT_WEIGHTS: dict[str, float] = {
    "hour": 1.0,  # per verified hour of service (net of reversals)
    "task_individual": 2.0,  # per 基础项目 task done
    "task_organisation": 3.0,  # per 重点项目 task done
    "micro_wish": 5.0,  # per 微心愿 fulfilled
    "rating": 2.0,  # per rating, times (stars - 3): a 5-star rating adds 2 x weight, a 1-star takes it away
    "report_in": 10.0,  # reported in and accepted by the community at the end of the period
    "late_withdrawal": 3.0,  # subtracted per claim withdrawn late
    "no_show": 5.0,  # subtracted per no-show
    "reversal": 5.0,  # subtracted per credit reversed on an upheld complaint
    "cap": 100.0,  # the index is clamped to [0, cap]
}


def weights_for(session: Session, district: Org) -> dict[str, float]:
    """Defaults overlaid with the district's `vanguard_weights` setting; unknown or non-numeric keys refused."""
    override = orgs.setting(session, district, "vanguard_weights", {}) or {}
    return merge(override)


def merge(override: dict) -> dict[str, float]:
    weights = dict(DEFAULT_WEIGHTS)
    for key, value in override.items():
        if key not in DEFAULT_WEIGHTS:
            raise InvalidInput("invalid_vanguard_weights", key=key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidInput("invalid_vanguard_weights", variant="negative", key=key)
        weights[key] = float(value)
    return weights


def index(metrics: dict, weights: dict[str, float]) -> float:
    """Σ positive contributions − Σ penalties, clamped to [0, cap], one decimal."""
    hours = metrics["minutes"]["net"] / 60
    ratings = metrics["ratings"]
    raw = (
        weights["hour"] * hours
        + weights["task_individual"] * metrics["tasks"]["individual"]
        + weights["task_organisation"] * metrics["tasks"]["organisation"]
        + weights["micro_wish"] * metrics["micro_wishes"]
        + weights["rating"] * sum(s - 3 for s in ratings["stars"])
        + (weights["report_in"] if metrics["report_in"]["status"] == "accepted" else 0.0)
        - weights["late_withdrawal"] * metrics["late_withdrawals"]
        - weights["no_show"] * metrics["no_shows"]
        - weights["reversal"] * len(metrics["corrections"])
    )
    return round(min(max(raw, 0.0), weights["cap"]), 1)
