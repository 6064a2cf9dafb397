"""The demo district loaded by `make run`: a street, two communities with grids, volunteers, party members
from three employers, two merchants. Built through the same service functions the API uses."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.models.org import OrgKind
from timebank.models.people import PartyMemberStatus, Person, Role
from timebank.services import credit_code, orgs, partners, people
from timebank.services.access import SYSTEM

DEMO_PASSWORD = "demo-pass-2024"

VOLUNTEERS = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞",
              "徐涛", "孙丽", "马超", "朱琳", "胡军", "郭燕", "何平", "高峰", "林雪", "罗斌"]
EMPLOYERS = [("区人民医院", "12330100MB0000001"), ("区税务局", "11330100MB0000002"),
             ("东方实业有限公司", "91330100MA0000003")]
MERCHANTS = [("联盟超市(幸福店)", "92330100MA0000011"), ("便民理发店", "92330100MA0000012")]


def has_data(session: Session) -> bool:
    return session.scalar(select(Person.id).limit(1)) is not None


def load(session: Session) -> list[str]:
    """Create the demo district and return the lines `make run` prints (logins and keys)."""
    district = orgs.create_root(session, name="示范区", settings={
        "categories": ["红色先锋", "橙色关爱", "绿色环保", "金色助老", "蓝色平安"],
        "points_per_hour": 10, "daily_minutes_cap": 480,
    })
    street = orgs.create(session, SYSTEM, kind=OrgKind.street, name="东方街道", parent_id=district.id)
    communities = [orgs.create(session, SYSTEM, kind=OrgKind.community, name=n, parent_id=street.id)
                   for n in ("幸福社区", "和谐社区")]
    grids = [orgs.create(session, SYSTEM, kind=OrgKind.grid, name=f"{c.name}第{i}网格", parent_id=c.id)
             for c in communities for i in (1, 2)]
    branches = [orgs.create_branch(session, SYSTEM, name=f"{c.name}党支部", org_id=c.id) for c in communities]
    employers = [partners.create_employer(session, SYSTEM, name=n, credit_code_value=credit_code.make(b),
                                          org_id=district.id, contact_name="党办",
                                          contact_email=f"party{i}@example.org")
                 for i, (n, b) in enumerate(EMPLOYERS, start=1)]
    merchants = [partners.create_merchant(session, SYSTEM, name=n, credit_code_value=credit_code.make(b),
                                          org_id=street.id, contact_name="店长")
                 for n, b in MERCHANTS]
    lines = [f"demo password for every login below: {DEMO_PASSWORD}"]

    def person(name: str, phone: str, home, *grants) -> Person:
        p = people.register(session, None, name=name, phone=phone, password=DEMO_PASSWORD, home_org_id=home.id)
        for role, kw in grants:
            people.grant(session, None, p, role, **kw)
        return p

    person("区管理员", "13800000001", district, (Role.district_admin, {"org_id": district.id}))
    lines.append("district admin     13800000001")
    person("街道管理员", "13800000002", street, (Role.street_admin, {"org_id": street.id}))
    lines.append("street admin       13800000002")
    for i, c in enumerate(communities, start=3):
        person(f"{c.name}管理员", f"1380000000{i}", c, (Role.community_admin, {"org_id": c.id}))
        lines.append(f"community admin    1380000000{i}  ({c.name})")
    person("网格员小周", "13800000005", grids[0], (Role.grid_worker, {"org_id": grids[0].id}))
    lines.append("grid worker        13800000005")
    person("审计员", "13800000006", district, (Role.auditor, {"org_id": district.id}))
    lines.append("auditor            13800000006")
    for i, m in enumerate(merchants, start=7):
        person(f"{m.name}店员", f"1380000000{i}", communities[0], (Role.merchant_staff, {"merchant_id": m.id}))
        lines.append(f"merchant staff     1380000000{i}  ({m.name})")
    person("医院党办", "13800000009", district, (Role.employer_contact, {"employer_id": employers[0].id}))
    lines.append("employer contact   13800000009  (区人民医院)")
    for i, name in enumerate(VOLUNTEERS):
        p = person(name, f"1390000{i:04d}", grids[i % len(grids)])
        if i < 9:  # nine in-service party members, three per employer
            people.register_party_member(session, None, p, status=PartyMemberStatus.in_service,
                                         employer_id=employers[i % 3].id, branch_id=branches[i % 2].id)
    lines.append("volunteers         13900000000 … 13900000019 (the first nine are in-service party members)")
    session.flush()
    return lines
