"""Rendering one employer's report (一信一函) as PDF with embedded Chinese text, and as CSV and JSON.

All three are drawn from the same document dict (`appraisal.report_document`), so they always carry the
same figures. The PDF embeds a subset of a real CJK TrueType font (WenQuanYi Micro Hei, installed from PyPI
by the `paperang-p2-fonts-cjk` package; Debian's fonts-wqy-microhei / fonts-wqy-zenhei are found too, and
`TIMEBANK_CJK_FONT` names any other TrueType file), so the text shows in every viewer.
"""

from __future__ import annotations

import io
import json
import os
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import resources

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from timebank import csvfile, labels

FONT = "TimebankCJK"
DEBIAN_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
REPORT_IN_LABELS = {"accepted": "已报到", "pending": "待社区确认", "expired": "已过期(未续报)",
                    "not_reported": "未报到", "moved": "已迁出", "rejected": "未通过"}


class FontMissing(RuntimeError):
    pass


_configured_font: str | None = None


def configure_font(path: str | None) -> None:
    """The app factory's hand-over of the `CJK_FONT` setting (a process-wide choice, like the font cache)."""
    global _configured_font
    _configured_font = path or None


def find_cjk_font() -> str:
    """The TrueType file to embed: the configured `CJK_FONT`, the PyPI font package, or a Debian font."""
    if _configured_font:
        return _configured_font
    try:
        path = resources.files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"
        if path.is_file():
            return str(path)
    except ModuleNotFoundError:
        pass
    for path in DEBIAN_FONTS:
        if os.path.exists(path):
            return path
    raise FontMissing("No CJK TrueType font found: pip install paperang-p2-fonts-cjk, or set TIMEBANK_CJK_FONT.")


@lru_cache(maxsize=1)
def register_font() -> str:
    """Load the font once per process (it is a few MB); each PDF embeds only the glyphs it uses."""
    path = find_cjk_font()
    pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0) if path.endswith(".ttc") else TTFont(FONT, path))
    return path


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    register_font()
    base = ParagraphStyle("base", fontName=FONT, fontSize=10.5, leading=16, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=26, alignment=TA_CENTER),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=11, alignment=TA_CENTER,
                                   textColor=colors.HexColor("#555555")),
        "body": ParagraphStyle("body", parent=base, firstLineIndent=21),
        "plain": base,
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "h2": ParagraphStyle("h2", parent=base, fontSize=12.5, leading=18, spaceBefore=6, spaceAfter=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=13),
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=10,
                                textColor=colors.HexColor("#444444")),
        # Mostly digits and commas: break at spaces, not glyph by glyph (CJK wrapping measures every char).
        "trace": ParagraphStyle("trace", parent=base, fontSize=7.5, leading=10, wordWrap=None,
                                textColor=colors.HexColor("#444444")),
    }


def cn_date(value: date | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.year}年{value.month}月{value.day}日"


def _tenths(minutes: int) -> int:
    """Minutes as tenths of an hour, rounded half up (6 minutes = 0.1 h)."""
    return (minutes + 3) // 6


def hours(minutes: int) -> str:
    return f"{_tenths(minutes) / 10:.1f}"


def split_hours(parts: dict[str, int]) -> dict[str, str]:
    """Minutes per month (or category) as hours to one decimal that add up to the total printed beside them:
    the total is rounded once, and the tenths are handed out by largest remainder (ties: earlier key), so
    2.25 + 4.5 + 0.05 prints as 2.3 + 4.5 + 0.0 = 6.8, never 2.2 + 4.5 + 0.0."""
    total_tenths = _tenths(sum(parts.values()))
    floors = {k: v // 6 for k, v in parts.items()}
    left = total_tenths - sum(floors.values())
    order = sorted(parts, key=lambda k: (-(parts[k] % 6), list(parts).index(k)))
    for key in order[:max(left, 0)]:
        floors[key] += 1
    return {k: f"{floors[k] / 10:.1f}" for k in parts}


def _esc(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cover(doc: dict, st: dict) -> list:
    period, employer, summary = doc["period"], doc["employer"], doc["summary"]
    story = [
        Paragraph("在职党员到社区报到服务情况反馈函", st["title"]),
        Paragraph("（一信一函）", st["subtitle"]),
        Spacer(1, 4 * mm),
        Paragraph(f"编号（核验码）：{doc['verification']['code']}", st["right"]),
        Spacer(1, 4 * mm),
        Paragraph(f"{_esc(employer['name'])}党组织：", st["plain"]),
        Paragraph(
            f"根据在职党员到居住地社区报到（双报到）工作要求，现将贵单位 {summary['members']} 名在职党员于"
            f"{_esc(period['label'])}（{cn_date(period['starts_on'])}至{cn_date(period['ends_on'])}）在居住地社区"
            "报到、参加志愿服务的情况函告如下。所列服务时长均经社区审核并记入爱心银行账目，每名党员的数据"
            "附有所依据的账目流水号与签到记录号，可供核查。", st["body"]),
        Paragraph(
            "请贵单位将本函作为党员年度考核、评优评先和干部考核的参考依据，并在收到后予以确认，"
            "对每名党员给出评议意见（双评议）反馈社区。", st["body"]),
        Spacer(1, 4 * mm),
    ]
    rows = [["项目", "数值"],
            ["在职党员人数", str(summary["members"])],
            ["已到社区报到", str(summary["reported_in"])],
            ["未报到", str(summary["members"] - summary["reported_in"])],
            ["经审核服务时长合计（小时）", hours(summary["minutes_net"])],
            ["完成任务（基础项目 / 重点项目）", f"{summary['tasks_individual']} / {summary['tasks_organisation']}"],
            ["认领完成微心愿", str(summary["micro_wishes"])],
            ["单位认领服务项目（已验收）",
             f"{summary.get('projects_claimed', 0)}（{summary.get('projects_accepted', 0)}）"],
            ["单位完成微心愿（惠及群众）",
             f"{summary.get('wishes_fulfilled', 0)} 个（{summary.get('people_helped', 0)} 人）"],
            ["平均先锋指数", "—" if summary["vanguard_mean"] is None else f"{summary['vanguard_mean']:.1f}"],
            ["数据待核实人数", str(summary["failed"])]]
    table = Table(rows, colWidths=[95 * mm, 60 * mm], hAlign="CENTER")
    table.setStyle(_grid(header=True))
    story += [table, Spacer(1, 8 * mm),
              Paragraph("特此函告。", st["body"]),
              Spacer(1, 10 * mm),
              Paragraph(f"{_esc(doc['issuer'])}社区党组织", st["right"]),
              Paragraph(cn_date(doc["issued_on"]), st["right"]),
              Spacer(1, 10 * mm),
              Paragraph(f"真伪核验：访问 {_esc(doc['verification']['url'])} ，或在爱心银行输入核验码 "
                        f"{doc['verification']['code']} 查询。核验结果只显示单位、期间与人数，不含个人信息。",
                        st["small"]),
              Paragraph("先锋指数计算方法见附表末尾说明。本函涉及个人信息，仅供贵单位党组织考核使用，请妥善保管。",
                        st["small"])]
    return story


def _grid(header: bool = False) -> TableStyle:
    style = [("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 9.5),
             ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("TOPPADDING", (0, 0), (-1, -1), 3),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#F2DCDB")))
    return TableStyle(style)


def _joined(mapping: dict, fmt) -> str:
    return "；".join(fmt(k, v) for k, v in mapping.items()) or "—"


def _member(n: int, m: dict, st: dict) -> list:
    head = Paragraph(f"{n}. {_esc(m['name'])}（手机 {m['phone_masked']}，{_esc(m['branch'] or '未填支部')}）",
                     st["h2"])
    head.keepWithNext = True
    if m["status"] != "done":
        table = Table([[Paragraph("数据待核实", st["cell"]),
                        Paragraph(f"该党员本期数据未能生成，社区正在核实。原因：{_esc(m['error'] or '')}",
                                  st["cell"])]], colWidths=[38 * mm, 132 * mm])
        table.setStyle(_grid())
        return [head, table, Spacer(1, 3 * mm)]
    x = m["metrics"]
    ri = x["report_in"]
    mins = x["minutes"]
    ratings = x["ratings"]
    corrections = "；".join(
        f"{cn_date(c['served_on'])}「{_esc(c['task'])}」{c['minutes']}分钟已冲正：{_esc(c['reason'] or '投诉成立')}"
        for c in x["corrections"]) or "无"
    trace = x["trace"]
    rows = [
        ("报到情况", f"{REPORT_IN_LABELS.get(ri['status'], ri['status'])}"
                     + (f"，{_esc(ri['community'])}，{cn_date(ri['reported_on'])}" if ri["community"] else "")),
        ("服务时长（小时）", f"{hours(mins['net'])}（入账 {hours(mins['credited'])}，冲正 {hours(mins['reversed'])}）"),
        ("按服务类别（小时）", _joined(split_hours(mins["by_category"]), lambda k, v: f"{_esc(k)} {v}")),
        ("按月份（小时）", _joined(split_hours(mins["by_month"]), lambda k, v: f"{k} {v}")),
        ("完成任务", f"基础项目 {x['tasks']['individual']} 个，重点项目 {x['tasks']['organisation']} 个"),
        ("微心愿", f"认领完成 {x['micro_wishes']} 个"
                   + (f"，个人直接认领完成 {x['wishes_claimed']} 个" if x.get("wishes_claimed") else "")),
        ("参与项目", _member_projects(x)),
        ("群众评价", f"{ratings['count']} 次" + (f"，平均 {ratings['mean']:.1f} 星" if ratings["count"] else "")),
        ("迟退 / 爽约", f"临近开始退出 {x['late_withdrawals']} 次，爽约 {x['no_shows']} 次"),
        ("更正记录", corrections),
        ("先锋指数", f"{m['vanguard_index']:.1f}"),
    ]
    # Short values stay plain strings (no paragraph layout); only text that may wrap becomes a Paragraph.
    data = [[k, Paragraph(v, st["cell"]) if len(v) > 36 else v.replace("&lt;", "<").replace("&gt;", ">")
             .replace("&amp;", "&")] for k, v in rows]
    data.append(["计入依据", Paragraph(
        f"账目流水 {len(trace['transfer_ids'])} 条： {', '.join(map(str, trace['transfer_ids'])) or '无'} ；"
        f"签到记录 {len(trace['attendance_ids'])} 条： {', '.join(map(str, trace['attendance_ids'])) or '无'}",
        st["trace"])])
    table = Table(data, colWidths=[38 * mm, 132 * mm])
    style = _grid()
    style.add("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F7F7F7"))
    table.setStyle(style)
    return [head, table, Spacer(1, 3 * mm)]


def _member_projects(x: dict) -> str:
    part = x.get("projects") or {"count": 0, "minutes": 0}  # letters computed before projects lack it
    return f"{part['count']} 个" + (f"，项目服务 {hours(part['minutes'])} 小时" if part["count"] else "")


def _cell(text: str, st: dict):
    return Paragraph(_esc(text), st["cell"])


def _cobuilding(doc: dict, st: dict) -> list:
    """单位报到与共建: the unit's report-ins in the period, the resources it offered (and how often each was drawn
    on), the contributions recorded against its agreements (net sum and list) and each community's evaluation."""
    section = doc.get("cobuilding") or {}
    story = [Paragraph(f"单位报到与共建（{_esc(doc['period']['label'])}）", st["h2"])]
    if not section.get("report_ins"):
        return story + [Paragraph("本期贵单位党组织未向本区社区报到。", st["plain"]), Spacer(1, 4 * mm)]
    rows = [["报到社区", "状态", "报到期限", "共建协议"]]
    for ri in section["report_ins"]:
        ag = ri["agreement"]
        rows.append([_cell(ri["community"], st), labels.label(labels.UNIT_REPORT_IN_STATES, ri["status"]),
                     _cell(f"{cn_date(ri['reported_on'])}至{cn_date(ri['expires_on'])}", st),
                     _cell("—" if ag is None else f"《{ag['title']}》{cn_date(ag['starts_on'])}至"
                           f"{cn_date(ag['ends_on'])}（{labels.label(labels.AGREEMENT_STATES, ag['status'])}）", st)])
    table = Table(rows, colWidths=[35 * mm, 20 * mm, 50 * mm, 65 * mm], repeatRows=1)
    table.setStyle(_grid(header=True))
    story += [table, Spacer(1, 3 * mm), Paragraph("资源清单", st["h2"])]
    rows = [["报到社区", "类别", "资源", "数量", "本期使用"]]
    for ri in section["report_ins"]:
        for r in ri["resources"]:
            amount = "—" if r["quantity"] is None else f"{r['quantity']}{r['unit'] or ''}"
            rows.append([_cell(ri["community"], st), labels.label(labels.RESOURCE_KINDS, r["kind"]),
                         _cell(r["description"] + ("" if r["available"] else "（已停止提供）"), st), _cell(amount, st),
                         f"{r['used']} 次"])
    table = Table(rows, colWidths=[35 * mm, 20 * mm, 70 * mm, 25 * mm, 20 * mm], repeatRows=1)
    table.setStyle(_grid(header=True))
    story += [table, Spacer(1, 3 * mm), Paragraph(
        f"共建贡献：{section['contributions_count']} 项，资金合计 {labels.yuan(section['contributions_fen'])} 元",
        st["h2"])]
    if section["contributions"]:
        rows = [["日期", "社区", "类别", "内容", "金额（元）", "数量"]]
        for c in section["contributions"]:
            what = c["description"] + (f"（冲正：{c['reason']}）" if c["reverses_id"] else "")
            rows.append([cn_date(c["on_date"]), _cell(c["community"], st),
                         labels.label(labels.CONTRIBUTION_KINDS, c["kind"]), _cell(what, st),
                         labels.yuan(c["amount_fen"]), _cell(c["quantity"] or "—", st)])
        table = Table(rows, colWidths=[27 * mm, 28 * mm, 14 * mm, 55 * mm, 24 * mm, 22 * mm], repeatRows=1)
        table.setStyle(_grid(header=True))
        story.append(table)
    else:
        story.append(Paragraph("本期无登记的共建贡献。", st["plain"]))
    story += [Spacer(1, 3 * mm), Paragraph(f"社区评议（{section['year']}年度）", st["h2"])]
    rows = [["社区", "等次", "评分", "评语"]]
    for ri in section["report_ins"]:
        ev = ri["evaluation"]
        if ev is None:
            rows.append([_cell(ri["community"], st), "未评议", "—", "—"])
            continue
        scores = "；".join(f"{labels.label(labels.EVALUATION_ASPECTS, k)} {v}分" for k, v in ev["scores"].items())
        rows.append([_cell(ri["community"], st), labels.label(labels.UNIT_GRADES, ev["grade"]), _cell(scores, st),
                     _cell(ev["comment"] or "—", st)])
    table = Table(rows, colWidths=[35 * mm, 15 * mm, 55 * mm, 65 * mm], repeatRows=1)
    table.setStyle(_grid(header=True))
    return story + [table, Spacer(1, 4 * mm)]


def _satisfaction(value: int | None) -> str:
    return "未验收" if value is None else f"{value} 分"


def _projects(doc: dict, st: dict) -> list:
    """项目认领与微心愿: the projects the unit held in the period (tier, status, hours served on their tasks, the
    residents' satisfaction at acceptance) and the micro-wishes it fulfilled, with the people helped."""
    section = doc.get("projects") or {}
    story = [Paragraph(f"项目认领与微心愿（{_esc(doc['period']['label'])}）", st["h2"])]
    projects, wishes = section.get("projects") or [], section.get("wishes") or []
    if projects:
        rows = [PROJECT_HEADERS]
        for p in projects:
            rows.append([_cell(p["title"], st), labels.label(labels.PROJECT_TIERS, p["tier"]),
                         _cell(p["community"], st), labels.label(labels.PROJECT_STATES, p["status"]),
                         hours(p["minutes"]), _satisfaction(p["satisfaction"])])
        table = Table(rows, colWidths=[48 * mm, 20 * mm, 28 * mm, 18 * mm, 32 * mm, 24 * mm], repeatRows=1)
        table.setStyle(_grid(header=True))
        story += [table, Paragraph("群众满意度为社区验收项目时记录的 1 至 5 分。", st["small"])]
    else:
        story.append(Paragraph("本期贵单位党组织未认领本区的服务项目。", st["plain"]))
    story += [Spacer(1, 3 * mm), Paragraph(
        f"微心愿：完成 {section.get('wishes_fulfilled', 0)} 个，惠及群众 {section.get('people_helped', 0)} 人",
        st["h2"])]
    if wishes:
        rows = [WISH_HEADERS]
        for w in wishes:
            rows.append([_cell(w["title"], st), _cell(w["community"], st), labels.label(labels.WISH_WAYS, w["way"]),
                         str(w["people_helped"]), "已确认" if w["confirmed"] else "待确认"])
        table = Table(rows, colWidths=[60 * mm, 33 * mm, 22 * mm, 29 * mm, 26 * mm], repeatRows=1)
        table.setStyle(_grid(header=True))
        story.append(table)
    else:
        story.append(Paragraph("本期贵单位党组织未完成微心愿。", st["plain"]))
    return story + [Spacer(1, 4 * mm)]


def _formula(doc: dict, st: dict) -> list:
    w = doc["weights"]
    text = (f"先锋指数 = 服务小时×{w['hour']:g} + 基础项目数×{w['task_individual']:g} + 重点项目数×"
            f"{w['task_organisation']:g} + 微心愿数×{w['micro_wish']:g} + Σ(评价星级−3)×{w['rating']:g}"
            f" + 已报到×{w['report_in']:g} − 迟退次数×{w['late_withdrawal']:g} − 爽约次数×{w['no_show']:g}"
            f" − 冲正次数×{w['reversal']:g}，结果取 0 至 {w['cap']:g} 之间，保留一位小数。")
    return [Spacer(1, 4 * mm), Paragraph("说明", st["h2"]), Paragraph(text, st["small"])]


def render_pdf(doc: dict) -> bytes:
    """The letter (cover page) and one table per member, the verification code on every page."""
    st = _styles()
    buf = io.BytesIO()
    code = doc["verification"]["code"]

    def footer(canvas, pdf):
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(20 * mm, 10 * mm, f"核验码 {code}  ·  {doc['employer']['name']}  ·  {doc['period']['label']}")
        canvas.drawRightString(190 * mm, 10 * mm, f"第 {pdf.page} 页")
        canvas.restoreState()

    pdf = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=f"{doc['employer']['name']} {doc['period']['label']} 一信一函",
                            author=doc["issuer"], subject=f"核验码 {code}", creator="timebank")
    story = _cover(doc, st)
    story += [PageBreak(), *_cobuilding(doc, st), *_projects(doc, st)]
    story += [PageBreak(), Paragraph(f"附表：在职党员社区服务情况（{_esc(doc['period']['label'])}）", st["h2"])]
    for n, member in enumerate(doc["members"], 1):
        story += _member(n, member, st)
    story += _formula(doc, st)
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def render_table_pdf(*, title: str, subtitle: str, facts: list[tuple[str, str]],
                     tables: list[tuple[str, list[str], list[list[str]]]]) -> bytes:
    """A plain Chinese document with the letters' font and table style: a title, facts, then titled tables
    (a volunteer's statement uses it)."""
    st = _styles()
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=title, author="爱心银行", creator="timebank")
    story = [Paragraph(_esc(title), st["title"]), Paragraph(_esc(subtitle), st["subtitle"]), Spacer(1, 6 * mm)]
    fact_table = Table([[k, Paragraph(_esc(v), st["cell"])] for k, v in facts], colWidths=[35 * mm, 135 * mm])
    fact_table.setStyle(_grid())
    story.append(fact_table)
    for heading, header, rows in tables:
        story += [Spacer(1, 5 * mm), Paragraph(_esc(heading), st["h2"])]
        if not rows:
            story.append(Paragraph("本期无记录。", st["plain"]))
            continue
        data = [header] + [[Paragraph(_esc(c), st["cell"]) if len(str(c)) > 14 else str(c) for c in row]
                           for row in rows]
        table = Table(data, repeatRows=1)
        table.setStyle(_grid(header=True))
        story.append(table)
    pdf.build(story)
    return buf.getvalue()


PROJECT_HEADERS = ["项目名称", "等级", "社区", "状态", "服务时长（小时）", "群众满意度"]
WISH_HEADERS = ["心愿", "社区", "方式", "惠及群众（人）", "居民确认"]
CSV_COLUMNS = ["核验码", "单位", "期间", "党员编号", "姓名", "手机", "支部", "状态", "原因", "报到状态", "报到社区",
               "报到日期", "服务分钟(净)", "入账分钟", "冲正分钟", "待入账分钟", "积分(净)",
               "按类别(小时)", "按月份(小时)",
               "基础项目", "重点项目", "微心愿", "直接认领微心愿", "参与项目", "项目服务分钟",
               "评价次数", "平均星级", "迟退", "爽约", "更正", "先锋指数",
               "账目流水号", "签到记录号"]


def render_csv(doc: dict) -> bytes:
    """One row per member through the one CSV writer: Chinese statuses, hours by category and month written
    out (the parts add up to the total, as in the PDF), Beijing dates, formula-safe cells; then the unit's own
    sections, each titled: 单位报到与共建 (report-ins, resources, contributions) and 项目认领与微心愿."""
    head = [doc["verification"]["code"], doc["employer"]["name"], doc["period"]["label"]]
    rows = []
    for m in doc["members"]:
        x = m.get("metrics")
        status = labels.label(labels.ENTRY_STATES, m["status"])
        if m["status"] != "done" or x is None:
            rows.append(head + [m["party_member_id"], m["name"], m["phone_masked"], m["branch"] or "", status,
                                "数据待核实"] + [""] * (len(CSV_COLUMNS) - 9))
            continue
        mins = x["minutes"]
        part = x.get("projects") or {"count": 0, "minutes": 0}  # letters computed before projects lack it
        corrections = "；".join(f"{c['served_on']} {c['task']} {c['minutes']}分钟（{c['reason'] or '投诉成立'}）"
                                for c in x["corrections"])
        rows.append(head + [
            m["party_member_id"], m["name"], m["phone_masked"], m["branch"] or "", status, "",
            labels.label(labels.REPORT_IN_STATES, x["report_in"]["status"]), x["report_in"]["community"] or "",
            x["report_in"]["reported_on"] or "", mins["net"], mins["credited"], mins["reversed"],
            mins["awaiting_credit"], x["points"]["net"],
            "；".join(f"{k} {v} 小时" for k, v in split_hours(mins["by_category"]).items()),
            "；".join(f"{k} {v} 小时" for k, v in split_hours(mins["by_month"]).items()),
            x["tasks"]["individual"], x["tasks"]["organisation"], x["micro_wishes"], x.get("wishes_claimed", 0),
            part["count"], part["minutes"], x["ratings"]["count"],
            "" if x["ratings"]["mean"] is None else x["ratings"]["mean"], x["late_withdrawals"], x["no_shows"],
            corrections or "无", m["vanguard_index"],
            " ".join(map(str, x["trace"]["transfer_ids"])), " ".join(map(str, x["trace"]["attendance_ids"]))])
    return csvfile.write_sections((CSV_COLUMNS, rows), [*_cobuilding_csv(doc), *_projects_csv(doc)])


COBUILDING_CSV = {
    "单位报到与共建": ["报到社区", "党组织", "状态", "报到日期", "有效期至", "共建协议", "协议期限", "协议状态",
                "评议年度", "评议等次", "评议评分", "评语"],
    "资源清单": ["报到社区", "类别", "资源", "数量", "计量单位", "仍在提供", "本期使用（次）"],
    "共建贡献": ["日期", "社区", "类别", "内容", "金额（元）", "数量", "冲正原因"],
}


def _cobuilding_csv(doc: dict) -> list[tuple[str, list[str], list[list]]]:
    """单位报到与共建 as three titled tables: the report-ins (with agreement and evaluation), the resources, the
    contributions (reversals as negative amounts with their reason)."""
    section = doc.get("cobuilding") or {}
    report_ins = section.get("report_ins") or []
    lines, resources = [], []
    for ri in report_ins:
        ag, ev = ri["agreement"], ri["evaluation"]
        lines.append([
            ri["community"], ri["party_org_name"], labels.label(labels.UNIT_REPORT_IN_STATES, ri["status"]),
            ri["reported_on"], ri["expires_on"], "" if ag is None else ag["title"],
            "" if ag is None else f"{ag['starts_on']}至{ag['ends_on']}",
            "" if ag is None else labels.label(labels.AGREEMENT_STATES, ag["status"]), section.get("year", ""),
            "未评议" if ev is None else labels.label(labels.UNIT_GRADES, ev["grade"]),
            "" if ev is None else "；".join(f"{labels.label(labels.EVALUATION_ASPECTS, k)} {v}分"
                                           for k, v in ev["scores"].items()),
            "" if ev is None else ev["comment"]])
        resources += [[ri["community"], labels.label(labels.RESOURCE_KINDS, r["kind"]), r["description"],
                       r["quantity"], r["unit"] or "", r["available"], r["used"]] for r in ri["resources"]]
    contributions = [[c["on_date"], c["community"], labels.label(labels.CONTRIBUTION_KINDS, c["kind"]),
                      c["description"], None if c["amount_fen"] is None else Decimal(c["amount_fen"]).scaleb(-2),
                      c["quantity"], c["reason"] if c["reverses_id"] else ""]
                     for c in section.get("contributions") or []]
    rows = {"单位报到与共建": lines, "资源清单": resources, "共建贡献": contributions}
    return [(title, headers, rows[title]) for title, headers in COBUILDING_CSV.items()]


def _projects_csv(doc: dict) -> list[tuple[str, list[str], list[list]]]:
    """项目认领与微心愿 as two titled tables, with the PDF's headers (and the projects' dates and tasks)."""
    section = doc.get("projects") or {}
    projects = [[p["title"], labels.label(labels.PROJECT_TIERS, p["tier"]), p["community"],
                 labels.label(labels.PROJECT_STATES, p["status"]), hours(p["minutes"]), p["satisfaction"],
                 p["starts_on"], p["ends_on"], p["tasks"], p["volunteers"]] for p in section.get("projects") or []]
    wishes = [[w["title"], w["community"], labels.label(labels.WISH_WAYS, w["way"]), w["people_helped"],
               "已确认" if w["confirmed"] else "待确认"] for w in section.get("wishes") or []]
    return [("项目认领", [*PROJECT_HEADERS, "开始日期", "结束日期", "任务数", "参与志愿者（人）"], projects),
            ("微心愿", WISH_HEADERS, wishes)]


def render_json(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1, default=str).encode("utf-8")
