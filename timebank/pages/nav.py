"""Every area's tabs, declared here in the order people see them.

A tab is (endpoint, label) or (endpoint, label, shown): `shown()` decides per signed-in person (party tabs for
party members, reconciliation for auditors and district admins). The check behind the page itself is the
service's; hiding a tab only spares people a refusal.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import g

from timebank.people.access import ADMIN_ROLES
from timebank.people.models import Role


def is_party_member() -> bool:
    person = g.get("page_person")
    return person is not None and person.party_member is not None


def reads_reconciliation() -> bool:
    actor = g.get("page_actor")
    return actor is not None and any(gr.role in (Role.auditor, Role.district_admin) for gr in actor.grants)


def administers() -> bool:
    actor = g.get("page_actor")
    return actor is not None and any(gr.role in ADMIN_ROLES for gr in actor.grants)


def has_not_joined() -> bool:
    """A signed-up volunteer whose join request a community has not accepted yet."""
    person = g.get("page_person")
    return person is not None and person.home_org_id is None


Tab = tuple[str, str] | tuple[str, str, Callable[[], bool]]

TABS: dict[str, tuple[Tab, ...]] = {
    "app": (
        ("app_joining.join_status", "入社申请", has_not_joined),
        ("app_pages.home", "首页"), ("app_pages.task_hall", "任务大厅"), ("app_pages.my_claims", "我的任务"),
        ("app_rewards.catalogue", "兑换"),
        ("app_pages.hours", "服务时长"), ("app_records.history", "积分明细"), ("app_records.statement", "对账单"),
        ("app_records.honour_board", "光荣榜"),
        ("app_party.report_in_page", "党员报到", is_party_member),
        ("app_party.my_appraisal", "我的考评", is_party_member),
        ("app_rewards.my_redemptions", "我的兑换"), ("app_rewards.gift", "转赠"),
        ("app_rewards.wishes", "微心愿"), ("app_projects.projects_page", "服务项目"),
        ("app_teams.teams_page", "服务队"), ("app_teams.honour", "团队光荣榜"),
        ("app_notify.inbox", "消息"), ("app_account.password", "修改密码"),
    ),
    "console": (
        ("console.queue", "待审核"), ("console.need_list", "群众需求"), ("console_needs.need_figures", "办理时效"),
        ("console_projects.three_lists", "三张清单"), ("console_projects.project_list", "项目清单"),
        ("console.task_list", "任务"), ("console_tasks.complaints", "投诉"),
        ("console_joining.join_requests", "入社审核"), ("console_joining.imports", "批量导入", administers),
        ("console_teams.teams_page", "服务队"), ("console_teams.honour", "团队光荣榜"),
        ("console_appraisal.report_ins", "报到审核"), ("console_cobuilding.units", "驻区单位"),
        ("console_appraisal.periods", "党员考评"),
        ("console_merchants.merchants", "爱心商户"), ("console_merchants.reconciliation", "对账", reads_reconciliation),
        ("console_notify.failed", "消息投递"), ("console_access.access", "账号与密钥", administers),
        ("console.audit", "操作日志"),
    ),
    "grid": (("grid.today", "今日任务"), ("grid.need_new", "代居民提需求"), ("grid.needs_list", "需求办理")),
    "employer": (
        ("employer.roster", "报到名册"), ("employer.reports", "考评报告"),
        ("employer_cobuilding.report_ins", "单位报到"), ("employer_joining.import_members", "导入党员"),
        ("employer_teams.teams_page", "服务队"), ("employer_wishes.wishes_page", "微心愿"),
        ("employer_projects.projects_page", "项目认领"),
    ),
    "merchant": (("merchant.till", "核销"), ("merchant.today", "今日兑换"), ("merchant.statement", "结算对账单")),
}

# A phone's tab bar holds five: an area listed here shows its first four tabs and 更多 (a page listing the rest).
MORE = {"app": "app_records.more"}
MAIN_TABS = 4


def _shown(area: str) -> list[tuple[str, str]]:
    out = []
    for tab in TABS[area]:
        shown = tab[2] if len(tab) > 2 else None
        if shown is None or shown():
            out.append((tab[0], tab[1]))
    return out


def tabs(area: str) -> list[tuple[str, str]]:
    """The area's tabs the signed-in person is shown, as (endpoint, label): at most five where `MORE` applies."""
    out = _shown(area)
    if area in MORE and len(out) > MAIN_TABS + 1:
        return out[:MAIN_TABS] + [(MORE[area], "更多")]
    return out


def more_tabs(area: str) -> list[tuple[str, str]]:
    """The tabs behind 更多."""
    out = _shown(area)
    return out[MAIN_TABS:] if area in MORE and len(out) > MAIN_TABS + 1 else []
