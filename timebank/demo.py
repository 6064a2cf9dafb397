"""The demo district loaded by `make run`: a street, two communities with grids, volunteers, party members
from three employers, two merchants. Built through the same service functions the API uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank import clock
from timebank.cobuilding import contributions as cobuilding_contributions
from timebank.cobuilding import report_in as unit_report_in
from timebank.cobuilding.models import ContributionKind, ResourceKind
from timebank.db_base import utcnow
from timebank.hours import attendance, claims, needs, tasks, verification
from timebank.hours.models import Decision, NeedKind
from timebank.people import credit_code, orgs, partners, security
from timebank.people import persons as people
from timebank.people.access import SYSTEM, Actor, load_person_actor
from timebank.people.models import Org, OrgKind, PartyMemberStatus, Person, Role
from timebank.projects import projects
from timebank.projects.models import ClaimantKind, ProjectTier
from timebank.redemption import rewards
from timebank.teams import teams

COLOURS = ["红色先锋", "橙色关爱", "绿色环保", "金色助老", "蓝色平安"]

DEMO_PASSWORD = "demo-pass-2024"

VOLUNTEERS = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞",
              "徐涛", "孙丽", "马超", "朱琳", "胡军", "郭燕", "何平", "高峰", "林雪", "罗斌"]
EMPLOYERS = [("区人民医院", "12330100MB0000001"), ("区税务局", "11330100MB0000002"),
             ("东方实业有限公司", "91330100MA0000003")]
MERCHANTS = [("联盟超市(幸福店)", "92330100MA0000011"), ("便民理发店", "92330100MA0000012")]
SHOPS = {"联盟超市(幸福店)": ("幸福路 88 号（幸福社区东门对面）", "每天 08:00–21:00"),
         "便民理发店": ("和谐街 12 号", "周二至周日 09:00–18:00")}


def has_data(session: Session) -> bool:
    return session.scalar(select(Person.id).limit(1)) is not None


@dataclass
class _Tree:
    district: Org
    street: Org
    communities: list[Org]
    grids: list[Org]
    branches: list
    employers: list
    merchants: list


def load(session: Session) -> list[str]:
    """Create the demo district and return the lines `make run` prints (logins and keys)."""
    tree = _tree(session)
    lines, district_admin, admins, volunteers = _people(session, tree)
    session.flush()
    admin_actors = [load_person_actor(session, a) for a in admins]
    _service_history(session, admin_actors, tree.communities, volunteers)
    _open_work(session, admin_actors, tree.communities, tree.grids, volunteers)
    _rewards(session, load_person_actor(session, district_admin), tree.merchants, tree.communities)
    # --- teams (志愿服务队) ---
    _teams(session, admin_actors, tree.communities, volunteers, tree.employers)
    _cobuilding(session, tree, admin_actors)
    _projects(session, tree, admin_actors, volunteers)
    session.flush()
    return lines


def _tree(session: Session) -> _Tree:
    """One district, one street, two communities with two grids and a party branch each, employers, merchants."""
    district = orgs.create_root(session, name="示范区", settings={
        "categories": ["红色先锋", "橙色关爱", "绿色环保", "金色助老", "蓝色平安"],
        "points_per_hour": 10, "daily_minutes_cap": 480,
        "need_deadlines": {"金色助老": {"respond_hours": 12, "fulfil_days": 3},
                           "*": {"respond_hours": 24, "fulfil_days": 7}},
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
    return _Tree(district, street, communities, grids, branches, employers, merchants)


def _people(session: Session, tree: _Tree) -> tuple[list[str], Person, list[Person], list[Person]]:
    """The demo logins, one per role, and twenty volunteers (nine in-service party members)."""
    lines = [f"demo password for every login below: {DEMO_PASSWORD}"]
    shared_hash = security.hash_password(DEMO_PASSWORD)  # one slow KDF run, not one per demo login

    def person(name: str, phone: str, home, *grants) -> Person:
        p = people.register(session, None, name=name, phone=phone, password=None, home_org_id=home.id)
        p.password_hash = shared_hash
        for role, kw in grants:
            people.grant(session, None, p, role, **kw)
        return p

    district, street, communities, grids = tree.district, tree.street, tree.communities, tree.grids
    district_admin = person("区管理员", "13800000001", district, (Role.district_admin, {"org_id": district.id}))
    lines.append("district admin     13800000001")
    person("街道管理员", "13800000002", street, (Role.street_admin, {"org_id": street.id}))
    lines.append("street admin       13800000002")
    admins = []
    for i, c in enumerate(communities, start=3):
        admins.append(person(f"{c.name}管理员", f"1380000000{i}", c, (Role.community_admin, {"org_id": c.id})))
        lines.append(f"community admin    1380000000{i}  ({c.name})")
    person("网格员小周", "13800000005", grids[0], (Role.grid_worker, {"org_id": grids[0].id}))
    lines.append("grid worker        13800000005")
    person("审计员", "13800000006", district, (Role.auditor, {"org_id": district.id}))
    lines.append("auditor            13800000006")
    for i, m in enumerate(tree.merchants, start=7):
        person(f"{m.name}店员", f"1380000000{i}", communities[0], (Role.merchant_staff, {"merchant_id": m.id}))
        lines.append(f"merchant staff     1380000000{i}  ({m.name})")
    person("医院党办", "13800000009", district, (Role.employer_contact, {"employer_id": tree.employers[0].id}))
    lines.append("employer contact   13800000009  (区人民医院)")
    volunteers = []
    for i, name in enumerate(VOLUNTEERS):
        p = person(name, f"1390000{i:04d}", grids[i % len(grids)])
        volunteers.append(p)
        if i < 9:  # nine in-service party members, three per employer
            people.register_party_member(session, None, p, status=PartyMemberStatus.in_service,
                                         employer_id=tree.employers[i % 3].id, branch_id=tree.branches[i % 2].id)
    lines.append("volunteers         13900000000 … 13900000019 (the first nine are in-service party members)")
    return lines, district_admin, admins, volunteers




def _service_history(session: Session, admins: list[Actor], communities, volunteers: list[Person]) -> None:
    """Three past activities per community, attended, entered late (补录) and verified: the credit job posts them."""
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for days_ago, colour in ((40, COLOURS[4]), (25, COLOURS[3]), (10, COLOURS[2])):
        for c_index, (admin, community) in enumerate(zip(admins, communities, strict=True)):
            start = now - timedelta(days=days_ago, hours=-c_index)
            with clock.frozen_at(start - timedelta(days=2)):
                task = tasks.publish(session, admin, org_id=community.id, title=f"{colour}志愿服务日",
                                     category=colour, place=f"{community.name}党群服务中心", starts_at=start,
                                     ends_at=start + timedelta(hours=3), slots=6)
                team = [v for i, v in enumerate(volunteers) if i % 2 == c_index][:5]
                claimed = [claims.claim(session, load_person_actor(session, v), task.id) for v in team]
            with clock.frozen_at(start + timedelta(hours=4)):
                for k, claim in enumerate(claimed):
                    row = attendance.late_entry(session, admin, claim_id=claim.id, checked_in_at=start,
                                                checked_out_at=start + timedelta(minutes=90 + 15 * k),
                                                reason="现场签到表补录")
                    verification.verify(session, admin, row.id, decision=Decision.accepted)


def _open_work(session: Session, admins: list[Actor], communities, grids, volunteers: list[Person]) -> None:
    """Needs waiting to be turned into tasks, and a task of each colour open to claim in the coming days."""
    resident = load_person_actor(session, volunteers[-1])
    needs.post(session, resident, kind=NeedKind.micro_wish, org_id=grids[0].id, title="想要一套小学数学练习册",
               description="孩子三年级，希望有志愿者帮忙辅导", category=COLOURS[1])
    needs.post(session, resident, kind=NeedKind.request, org_id=grids[0].id, title="楼道灯坏了需要维修",
               description="3 号楼 2 单元", category=COLOURS[0])
    # Today, in the grid worker's grid (第1网格): a task that starts within the hour, with two claimants, so
    # 13800000005 has something to confirm on site.
    soon = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=30)
    grid_task = tasks.publish(session, admins[0], org_id=grids[0].id, title="楼道清扫", category=COLOURS[2],
                              place=f"{grids[0].name}3号楼", starts_at=soon, ends_at=soon + timedelta(hours=2),
                              slots=4)
    for v in volunteers[:2]:
        claims.claim(session, load_person_actor(session, v), grid_task.id)
    start = (utcnow() + timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)  # 09:00 Beijing
    for day, colour in enumerate(COLOURS):
        for admin, community in zip(admins, communities, strict=True):
            tasks.publish(session, admin, org_id=community.id, title=f"{community.name}{colour}行动",
                          category=colour, place=f"{community.name}广场", starts_at=start + timedelta(days=day),
                          ends_at=start + timedelta(days=day, hours=2), slots=8)


def _rewards(session: Session, admin: Actor, merchants, communities) -> None:
    community_ids = [c.id for c in communities]
    catalogue = [[("大米 5 公斤", 60, 30), ("食用油 1 桶", 80, 20), ("洗衣液", 30, None)],
                 [("理发一次", 40, None), ("老人上门理发", 50, 10)]]
    for merchant, items in zip(merchants, catalogue, strict=True):
        rewards.set_profile(session, admin, merchant.id, webhook_url=None, community_ids=community_ids)
        address, hours = SHOPS[merchant.name]
        rewards.set_shop(session, admin, merchant.id, address=address, opening_hours=hours)
        for name, price, stock in items:
            rewards.create_reward(session, admin, merchant_id=merchant.id, name=name, points_price=price,
                                  community_ids=community_ids, stock=stock)


# --- teams (志愿服务队) ---------------------------------------------------------------------------------------
def _teams(session: Session, admins: list[Actor], communities, volunteers: list[Person], employers) -> None:
    """A professional team and a general one per community, the hospital's own team, and one application waiting
    for its leader (张伟 leads the medical team: 13900000000)."""
    def team(admin: Actor, community, name: str, leader: Person, members: list[Person], **kw):
        row = teams.create(session, admin, community_id=community.id, name=name, leader_id=leader.id, **kw)
        for m in members:
            applied = teams.apply(session, load_person_actor(session, m), row.id, note="愿意参加")
            teams.decide(session, admin, applied.id, approve=True)
        return row

    medical = team(admins[0], communities[0], f"{communities[0].name}医护志愿服务队", volunteers[0],
                   [volunteers[2], volunteers[4]], kind="professional", profession="medical",
                   description="社区医生、护士和药师：义诊、健康讲座、慢病随访")
    teams.apply(session, load_person_actor(session, volunteers[6]), medical.id, note="我是药剂师")
    team(admins[1], communities[1], f"{communities[1].name}党员先锋服务队", volunteers[1],
         [volunteers[3], volunteers[5], volunteers[7]], description="在职党员双报到后组建，承接重点项目")
    team(admins[0], communities[0], "区人民医院党员服务队", volunteers[8], [volunteers[10]],
         kind="professional", profession="medical", employer_id=employers[0].id,
         description="区人民医院在职党员在居住社区开展志愿服务")
# cobuilding: the hospital's party organisation has reported in to the first community (单位报到)
def _cobuilding(session: Session, tree: _Tree, admins: list[Actor]) -> None:
    """The hospital reported in with two resources and a co-building agreement; the community accepted it and
    recorded one contribution, so /employer (13800000009) and /console (13800000003) show the feature."""
    contact = session.scalar(select(Person).where(Person.phone == "13800000009"))
    today = clock.local_today()
    row = unit_report_in.submit(
        session, load_person_actor(session, contact), employer_id=tree.employers[0].id,
        community_id=tree.communities[0].id, party_org_name="区人民医院党委", contact_name="医院党办",
        contact_phone=contact.phone,
        resources=[{"kind": ResourceKind.skill, "description": "每月一次义诊、健康讲座", "quantity": 12, "unit": "次"},
                   {"kind": ResourceKind.venue, "description": "门诊楼三楼会议室", "quantity": 60, "unit": "平方米"}],
        agreement={"title": "医社党建共建协议", "terms": "每月到社区义诊一次；会议室向社区开放。",
                   "starts_on": today - timedelta(days=20), "ends_on": today + timedelta(days=710),
                   "signed_on": today - timedelta(days=20)})
    unit_report_in.accept(session, admins[0], row.id)
    cobuilding_contributions.record(session, admins[0], row.id, kind=ContributionKind.goods,
                                    description="为独居老人捐赠血压计", quantity="20 台", on_date=today,
                                    resource_id=None)


def _projects(session: Session, tree: _Tree, admins: list[Actor], volunteers: list[Person]) -> None:
    """三张清单 in the first community: residents' needs for the elderly made into a 重点 project that the hospital
    (reported in above) claimed, with a task tomorrow; a 基础 project waiting for a claim; and a need still on the
    needs list to be designed into a project."""
    resident = load_person_actor(session, volunteers[-1])
    grid = tree.grids[0]
    made = [needs.post(session, resident, kind=NeedKind.request, org_id=grid.id, title=title, category=COLOURS[3])
            for title in ("独居老人想定期量血压", "老人行动不便，想请医生上门", "希望社区办一次健康讲座")]
    green = [needs.post(session, resident, kind=NeedKind.request, org_id=grid.id, title=title, category=COLOURS[2])
             for title in ("楼下花坛杂草丛生", "小区垃圾分类点需要引导员", "楼道堆放杂物需要清理")]
    today = clock.local_today()
    project = projects.create(
        session, admins[0], community_id=tree.communities[0].id, title="独居老人健康守护", tier=ProjectTier.key,
        goal="为辖区独居老人每月上门量血压、开展一次健康讲座", starts_on=today, ends_on=today + timedelta(days=180),
        budget_minutes=6000, budget_points=1000, need_ids=[n.id for n in made], place=f"{grid.name}",
        resources=[{"kind": ResourceKind.skill, "description": "医生上门义诊"},
                   {"kind": ResourceKind.venue, "description": "健康讲座场地"}])
    contact = session.scalar(select(Person).where(Person.phone == "13800000009"))
    projects.claim(session, load_person_actor(session, contact), project.id, kind=ClaimantKind.unit,
                   employer_id=tree.employers[0].id)
    start = (utcnow() + timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)  # 14:00 Beijing
    projects.publish_task(session, admins[0], project.id, title="上门量血压", starts_at=start,
                          ends_at=start + timedelta(hours=2), slots=4, place=f"{grid.name}独居老人家中")
    # Open for a claim on /employer and /app: a 基础 project from two of the three 绿色环保 needs.
    projects.create(
        session, admins[0], community_id=tree.communities[0].id, title="小区环境整治", tier=ProjectTier.basic,
        goal="每周清理花坛杂草，周末有引导员在垃圾分类点值守", starts_on=today, ends_on=today + timedelta(days=90),
        budget_minutes=3000, budget_points=500, need_ids=[n.id for n in green[:2]], place=f"{grid.name}",
        resources=[{"kind": ResourceKind.goods, "description": "园艺工具、手套"}])
