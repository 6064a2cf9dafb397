"""Co-building cron: units' report-ins past their expiry lapse (their agreements end), and the unit's contacts
are warned a month before. Thin: the rules are in `timebank.cobuilding`."""

from __future__ import annotations

import logging

from timebank import uow
from timebank.clock import local_today
from timebank.cobuilding import notices as cobuilding_notices
from timebank.cobuilding import report_in as unit_report_in

log = logging.getLogger("timebank.jobs.cobuilding")


def lapse_unit_report_ins() -> int:
    """Hourly, beside the members' lapse sweep: active unit report-ins past their expiry lapse."""
    with uow.unit_of_work() as session:
        lapsed = unit_report_in.lapse_due(session, today=local_today())
    if lapsed:
        log.info("unit report-ins lapsed", extra={"fields": {"lapsed": lapsed}})
    return lapsed


def warn_lapsing_unit_report_ins() -> int:
    """Daily: the contacts of a unit whose report-in lapses within 30 days are told once per expiry date."""
    with uow.unit_of_work() as session:
        return cobuilding_notices.warn_lapsing(session, today=local_today())
