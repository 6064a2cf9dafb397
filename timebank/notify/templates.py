"""Every event a person is told about, in one place: its Chinese title and text, the SMS provider's template id
and the WeChat subscription template id, and the channels it goes to unless the person chose otherwise.

Parameters are filled in with `str.format`; callers pass strings and numbers (times already in Beijing time,
`beijing()`). The SMS gateway receives the template id and the same parameters (providers keep their own copy
of the approved text); WeChat receives `wechat_data()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from timebank import clock

INAPP, SMS, EMAIL, WECHAT = "inapp", "sms", "email", "wechat"
CHANNELS = (INAPP, SMS, EMAIL, WECHAT)
EXTERNAL = (SMS, EMAIL, WECHAT)


@dataclass(frozen=True)
class Template:
    title: str
    body: str
    sms_template: str
    wechat_template: str
    channels: tuple[str, ...] = (INAPP, WECHAT)
    security: bool = False  # one-time codes: never opted out of, never deferred, never capped


# A security code goes by SMS only (never to the inbox: anyone who sees the phone's screen could read it).
CODE = "security.code"

TEMPLATES: dict[str, Template] = {
    "task.starting": Template(
        "活动即将开始", "您认领的“{task}”将于{starts_at}在{place}开始，请准时签到。",
        "SMS_TB_1001", "WX_TB_TASK_REMIND", (INAPP, SMS, WECHAT)),
    "task.changed": Template(
        "活动有变更", "您认领的“{task}”有变更：{change}。新的时间：{starts_at}，地点：{place}。",
        "SMS_TB_1002", "WX_TB_TASK_CHANGE", (INAPP, SMS, WECHAT)),
    "task.cancelled": Template(
        "活动已取消", "您认领的“{task}”（原定{starts_at}）已取消。原因：{reason}",
        "SMS_TB_1003", "WX_TB_TASK_CHANGE", (INAPP, SMS, WECHAT)),
    "attendance.verified": Template(
        "服务时长已审核通过", "您在“{task}”的服务已审核通过：{minutes}分钟，{points}积分。",
        "SMS_TB_1101", "WX_TB_HOURS_RESULT"),
    "attendance.rejected": Template(
        "服务时长未通过审核", "您在“{task}”的服务未通过审核。原因：{reason}",
        "SMS_TB_1102", "WX_TB_HOURS_RESULT", (INAPP, SMS, WECHAT)),
    "complaint.decided": Template(
        "投诉处理结果", "关于“{task}”的投诉已处理：{decision}。说明：{reason}",
        "SMS_TB_1103", "WX_TB_COMPLAINT"),
    "points.credited": Template(
        "积分已到账", "“{task}”的{minutes}分钟服务时长和{points}积分已入账。",
        "SMS_TB_1201", "WX_TB_POINTS", (INAPP,)),
    "points.expiring": Template(
        "积分即将过期", "您有{points}积分将于{expires_on}过期（还剩{days}天），请及时兑换使用。",
        "SMS_TB_1202", "WX_TB_POINTS_EXPIRY", (INAPP, SMS, WECHAT)),
    "redemption.held": Template(
        "兑换已预留", "您已用{points}积分预留“{reward}”（{merchant}），请在{expires_at}前到店出示取货码。",
        "SMS_TB_1301", "WX_TB_REDEMPTION"),
    "redemption.confirmed": Template(
        "兑换已完成", "您在{merchant}兑换的“{reward}”已核销，扣除{points}积分。",
        "SMS_TB_1302", "WX_TB_REDEMPTION", (INAPP,)),
    "redemption.refused": Template(
        "兑换被商户拒绝", "{merchant}未能兑换“{reward}”，{points}积分已退回。原因：{reason}",
        "SMS_TB_1303", "WX_TB_REDEMPTION"),
    "redemption.expired": Template(
        "兑换已过期", "您预留的“{reward}”（{merchant}）未在期限内取货，{points}积分已退回。",
        "SMS_TB_1304", "WX_TB_REDEMPTION"),
    "gift.received": Template(
        "收到积分赠与", "{giver}赠与您{points}积分。附言：{note}",
        "SMS_TB_1401", "WX_TB_POINTS"),
    "report_in.accepted": Template(
        "报到已通过", "您向{community}的报到已通过，有效期至{expires_on}。",
        "SMS_TB_1501", "WX_TB_REPORT_IN"),
    "report_in.rejected": Template(
        "报到未通过", "您向{community}的报到未通过。原因：{reason}",
        "SMS_TB_1502", "WX_TB_REPORT_IN", (INAPP, SMS, WECHAT)),
    "report_in.lapsing": Template(
        "报到即将到期", "您在{community}的报到将于{expires_on}到期，请及时续期。",
        "SMS_TB_1503", "WX_TB_REPORT_IN", (INAPP, SMS, WECHAT)),
    "need.accepted": Template(
        "您的需求已受理", "您提交的“{need}”已被社区受理。",
        "SMS_TB_1601", "WX_TB_NEED"),
    "need.published": Template(
        "您的需求已派单", "您提交的“{need}”已发布为志愿服务活动，时间：{starts_at}。",
        "SMS_TB_1602", "WX_TB_NEED"),
    "need.fulfilled": Template(
        "您的需求已完成", "您提交的“{need}”已由志愿者完成，欢迎评价。",
        "SMS_TB_1603", "WX_TB_NEED", (INAPP, SMS, WECHAT)),
    "need.closed": Template(
        "您的需求已关闭", "您提交的“{need}”已关闭。{reason}",
        "SMS_TB_1604", "WX_TB_NEED"),
    "appraisal.delivered": Template(
        "收到社区评议函", "{community}发来的{period}在职党员评议函（{members}名党员）已送达{employer}，请查收并反馈。",
        "SMS_TB_1701", "WX_TB_APPRAISAL", (INAPP, EMAIL)),
    "join.decided": Template(
        "加入申请结果", "您申请加入{org}：{decision}。{reason}",
        "SMS_TB_1801", "WX_TB_JOIN", (INAPP, SMS)),
    # --- teams (志愿服务队) ---
    "team.decided": Template(
        "入队申请结果", "您申请加入“{team}”：{decision}。{reason}",
        "SMS_TB_1901", "WX_TB_TEAM", (INAPP, SMS)),
    "team.removed": Template(
        "已被移出服务队", "您已被移出“{team}”。原因：{reason}",
        "SMS_TB_1902", "WX_TB_TEAM", (INAPP,)),
    "team.claimed": Template(
        "服务队为您认领了任务", "“{team}”为您认领了“{task}”，时间：{starts_at}，地点：{place}。请准时签到。",
        "SMS_TB_1903", "WX_TB_TEAM", (INAPP, SMS, WECHAT)),
    "team.claim_withdrawn": Template(
        "团队认领已撤回", "“{team}”撤回了为您认领的“{task}”（原定{starts_at}）。",
        "SMS_TB_1904", "WX_TB_TEAM", (INAPP, SMS, WECHAT)),
    # cobuilding: a unit's report-in, told to the unit's contacts
    "unit_report_in.accepted": Template(
        "单位报到已通过", "{unit}向{community}的报到已通过，有效期至{expires_on}。",
        "SMS_TB_2001", "WX_TB_REPORT_IN"),
    "unit_report_in.rejected": Template(
        "单位报到未通过", "{unit}向{community}的报到未通过。原因：{reason}",
        "SMS_TB_2002", "WX_TB_REPORT_IN", (INAPP, SMS, WECHAT)),
    "unit_report_in.lapsing": Template(
        "单位报到即将到期", "{unit}在{community}的报到将于{expires_on}到期，请及时续期。",
        "SMS_TB_2003", "WX_TB_REPORT_IN", (INAPP, SMS, WECHAT)),
    # --- needs: deadlines, escalation, micro-wish claims ---
    "need.escalated": Template(
        "您的需求已上报", "您提交的“{need}”已上报至{org}继续办理。",
        "SMS_TB_1605", "WX_TB_NEED"),
    "need.escalated_to_you": Template(
        "有需求上报待办理", "居民需求“{need}”已上报至{org}，请尽快办理。",
        "SMS_TB_1606", "WX_TB_NEED", (INAPP,)),
    "wish.claimed": Template(
        "您的微心愿已被认领", "您的微心愿“{need}”已有爱心人士认领，完成后请确认。",
        "SMS_TB_1607", "WX_TB_NEED"),
    "wish.fulfilled": Template(
        "您的微心愿已完成", "您的微心愿“{need}”已完成，请在“微心愿”页确认。",
        "SMS_TB_1608", "WX_TB_NEED", (INAPP, SMS, WECHAT)),
    "wish.confirmed": Template(
        "居民已确认心愿完成", "您认领的微心愿“{need}”居民已确认完成，感谢您的爱心。",
        "SMS_TB_1609", "WX_TB_NEED"),
    # --- projects (服务项目) ---
    "project.claimed": Template(
        "服务项目已被认领", "您发布的服务项目“{project}”已由{claimant}认领，请为其发布任务。",
        "SMS_TB_2101", "WX_TB_NEED", (INAPP,)),
    "project.task": Template(
        "项目有新任务", "您所在组织认领的项目“{project}”发布了任务“{task}”，{starts_at}在{place}，欢迎报名。",
        "SMS_TB_2103", "WX_TB_TASK_CHANGE"),
    "project.accepted": Template(
        "服务项目已通过验收", "您认领的服务项目“{project}”已通过社区验收，群众满意度 {satisfaction} 分，感谢付出。",
        "SMS_TB_2102", "WX_TB_NEED"),
    CODE: Template(
        "验证码", "您的验证码是{code}，{minutes}分钟内有效（用途：{purpose}）。请勿告诉他人。",
        "SMS_TB_9001", "", (SMS,), security=True),
}

PURPOSES = {"signup": "注册", "reset_password": "重置密码", "change_phone": "更换手机号", "login": "登录"}

CHANNEL_NAMES = {INAPP: "站内消息", SMS: "短信", EMAIL: "电子邮件", WECHAT: "微信订阅消息"}

KIND_NAMES = {kind: template.title for kind, template in TEMPLATES.items()}


def get(kind: str) -> Template:
    return TEMPLATES[kind]


def render(kind: str, params: dict) -> tuple[str, str]:
    """(title, body) in Chinese; a missing parameter shows as empty rather than failing the event."""
    template = TEMPLATES[kind]
    return template.title, template.body.format_map(_Lenient(params))


def wechat_data(kind: str, params: dict, at: datetime) -> dict:
    """A subscription message's `data`: the title, the text cut to WeChat's 20-character `thing` limit, the time."""
    title, body = render(kind, params)
    return {"thing1": {"value": title[:20]}, "thing2": {"value": body[:20]}, "time3": {"value": beijing(at)}}


def beijing(at: datetime) -> str:
    """A time as people read it: Beijing time, e.g. 2025年3月5日 14:00."""
    local = at.astimezone(clock.DISPLAY_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return ""
