"""The demo district `make run` loads (`timebank.demo`), built through the services and credited by the drain,
for tests that walk the site as the demo logins do."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.appraisal.service import drain_all
from timebank import demo
from timebank.appraisal import reports as appraisal
from timebank.appraisal.models import AppraisalReport, ReportStatus
from timebank.people.access import load_person_actor
from timebank.people.models import Org, OrgKind, Person

# The demo logins (phone → what the person does), as `timebank demo` prints them.
LOGINS = {
    "13800000001": "district_admin", "13800000002": "street_admin", "13800000003": "community_admin",
    "13800000004": "community_admin", "13800000005": "grid_worker", "13800000006": "auditor",
    "13800000007": "merchant_staff", "13800000008": "merchant_staff", "13800000009": "employer_contact",
    "13900000000": "volunteer", "13900000011": "volunteer",
}


@dataclass
class DemoDistrict:
    session: object

    def person(self, phone: str) -> Person:
        return self.session.scalar(select(Person).where(Person.phone == phone))

    def district(self) -> Org:
        return self.session.scalar(select(Org).where(Org.kind == OrgKind.district))

    def rendered_report(self) -> AppraisalReport:
        """Run this year's appraisal of the district and render its letters (as the workers would)."""
        from timebank.db_base import utcnow

        actor = load_person_actor(self.session, self.person("13800000001"))
        period = appraisal.create_period(self.session, actor, district_id=self.district().id, kind="year",
                                         year=utcnow().year)
        appraisal.start_run(self.session, actor, period.id)
        self.session.commit()
        drain_all(self.session)
        return self.session.scalar(select(AppraisalReport).where(AppraisalReport.status == ReportStatus.rendered)
                                   .order_by(AppraisalReport.id))


@pytest.fixture
def demo_district(session) -> DemoDistrict:
    demo.load(session)
    session.commit()
    drain_all(session)
    session.commit()
    return DemoDistrict(session)
