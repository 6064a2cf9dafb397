"""The front door (/): where each person goes (volunteer app, till, console, employer portal) and the public
verification page for the codes printed on appraisal letters (later certificates). No sign-in."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from timebank.appraisal import reports as appraisal
from timebank.extensions import db

bp = Blueprint("public", __name__)

DOORS = (
    ("app_pages.home", "志愿者", "报名志愿服务、扫码签到签退、查看服务时长和积分、兑换商品"),
    ("merchant.till", "爱心商户收银台", "核销志愿者的兑换码、查看今日兑换和结算对账单"),
    ("console.queue", "社区管理后台", "社区、街道、区管理员：审核服务时长、发布任务、管理商户和党员考评"),
    ("employer.roster", "单位党组织", "工作单位查看党员报到情况、下载考评报告（一信一函）并评议"),
    ("public.verify", "核验证明", "输入考评报告上的核验码，查询其真伪"),
)


def _render(template: str, **kwargs):
    return render_template(template, area_title="爱心银行", nav=None, **kwargs)


@bp.get("/")
def landing():
    return _render("pages/public/landing.html", doors=DOORS)


@bp.get("/verify")
def verify():
    """The form; a code in the query (typed any way) goes to its result page."""
    typed = (request.args.get("code") or "").strip()
    if typed:
        return redirect(url_for("public.verify_result", code=appraisal.normalise_code(typed) or typed))
    return _render("pages/public/verify.html", result=None, typed="")


@bp.get("/verify/<path:code>")
def verify_result(code: str):
    """The page the letter's printed link opens: genuine or not, and what the code certifies."""
    result = appraisal.verify_code(db.session, code)
    db.session.rollback()
    return _render("pages/public/verify.html", result=result, typed=code)
