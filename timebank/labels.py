"""The one table of labels people read that are not refusals: statuses, kinds of entries, audit actions, CSV
headers. Refusals are in `timebank.messages`; both are Chinese, and nothing here shows an internal id."""

from __future__ import annotations

# A volunteer's session on a task (claim → attendance → verification → credit), as the app shows it.
SESSION_STATES = {
    "claimed": "已报名",
    "not_attended": "未签到",
    "withdrawn": "已取消报名",
    "no_show": "未到场",
    "checked_in": "已签到，待签退",
    "pending": "待审核",
    "accepted": "已通过，入账中",
    "credited": "已入账",
    "rejected": "未通过",
    "reversed": "已冲正",
}

# Ledger transfer codes, as a person's history and statements name them.
TRANSFER_CODES = {
    "credit": "服务入账", "reversal": "冲正", "hold": "兑换冻结", "capture": "兑换", "release": "冻结退回",
    "gift": "转赠", "expiry": "积分到期", "adjustment": "调整", "settlement": "结算",
    "recovery": "偿还欠分",
}

LEDGERS = {"points": "积分", "minutes": "服务时长"}

# Redemption statuses (the till's statement, the volunteer's list).
REDEMPTION_STATES = {"held": "待核销", "captured": "已核销", "released": "已退回"}
REDEMPTION_ORIGINS = {"pickup": "到店取货", "till": "收银台付款码"}

# Appraisal entry statuses and report-in statuses, for the letter's CSV.
ENTRY_STATES = {"pending": "统计中", "done": "已完成", "failed": "统计失败"}
REPORT_IN_STATES = {"not_reported": "未报到", "pending": "待接收", "accepted": "已报到", "rejected": "未接收",
                    "expired": "已过期", "moved": "已迁出", "withdrawn": "已撤回"}

# Audit-log actions: "claim.create" reads as what happened.
AUDIT_ACTIONS = {
    "person.register": "登记人员", "role.grant": "授予角色", "party_member.set": "登记党员信息",
    "org.create": "新建组织", "branch.create": "新建党支部", "employer.create": "新增单位",
    "merchant.create": "新增商户",
    "api_key.issue": "签发接口密钥", "api_key.revoke": "吊销接口密钥",
    "need.post": "发布需求", "need.accept": "受理需求", "need.reject": "驳回需求", "need.fulfil": "需求已完成",
    "need.close": "关闭需求", "need.rate": "评价服务",
    "task.publish": "发布任务", "task.cancel": "取消任务", "task.update": "修改任务",
    "claim.create": "认领任务", "claim.withdraw": "取消认领", "claim.no_show": "标记未到场",
    "attendance.qr": "扫码签到", "attendance.grid_worker": "网格员现场确认", "attendance.late_entry": "补录服务",
    "attendance.verify": "审核服务时长", "attendance.reverse_credit": "冲正服务时长",
    "complaint.file": "提出投诉", "complaint.decide": "处理投诉", "ledger.adjust": "调整积分",
    "merchant.profile": "设置商户", "merchant.status": "暂停或恢复商户", "merchant.shop": "设置门店信息",
    "merchant.webhook_secret.rotate": "更换推送密钥", "reward.create": "上架商品", "reward.update": "修改商品",
    "redemption.cancel": "取消兑换", "settlement.create": "结算",
    "report_in.submit": "提交报到", "report_in.accept": "接收报到", "report_in.reject": "驳回报到",
    "report_in.move": "迁移报到", "report_in.renew": "续期报到", "report_in.roster_read": "查看报到名册",
    "appraisal.period_create": "新建考评周期", "appraisal.run_start": "发起考评",
    "appraisal.report_read": "下载考评报告", "appraisal.report_view": "查看考评报告",
    "appraisal.report_acknowledge": "签收考评报告", "appraisal.report_resend": "重新发送考评报告",
    "appraisal.portal_link": "生成下载链接", "appraisal.delivery_profile": "设置报告接收方式",
    "appraisal.evaluate": "单位评议", "appraisal.evaluations_read": "查看单位评议",
    # joining
    "person.sign_up": "实名注册", "person.password_reset": "验证码重置密码", "join_request.submit": "申请加入社区",
    "join_request.approve": "通过入社申请", "join_request.refuse": "驳回入社申请", "import.commit": "批量导入人员",
    # needs: escalation and micro-wish claims
    "need.escalate": "上报需求", "wish.claim": "认领微心愿", "wish.fulfil": "微心愿已完成",
    "wish.confirm": "确认微心愿", "wish.withdraw": "放弃认领微心愿",
}

AUDIT_TARGETS = {
    "person": "人员", "org": "组织", "need": "需求", "task": "任务", "claim": "认领", "attendance": "服务记录",
    "verification": "审核", "complaint": "投诉", "merchant": "商户", "reward": "商品", "redemption": "兑换",
    "settlement": "结算", "employer": "单位", "api_key": "密钥", "report_in": "报到", "appraisal_report": "考评报告",
    "appraisal_run": "考评", "appraisal_period": "考评周期", "appraisal_entry": "评议", "branch": "党支部",
    "ledger_transfer": "积分交易", "account": "账户", "transfer": "交易",
    "join_request": "入社申请", "import_batch": "导入批次",  # joining
}

# Who set something going, where a person reads it (reconciliation runs, appraisal runs).
TRIGGERS = {"cron": "系统定时任务", "schedule": "系统定时任务", "admin": "管理员", "system": "系统", "cli": "命令行"}

# What a reconciliation found, in words.
DISCREPANCIES = {
    "cached_balance_mismatch": "账户余额与流水不符", "ledger_not_zero_sum": "账本借贷不平",
    "row_altered": "流水被改动", "seal_chain_broken": "封存链断裂", "sealed_block_changed": "已封存的流水被改动",
    "stale_hold": "冻结超时未处理",
}


# --- joining: join requests, the bulk import's headers, kinds and what a row's error says ---
JOIN_STATES = {"pending": "待审核", "approved": "已通过", "refused": "未通过"}
IMPORT_HEADERS = {"name": "姓名", "phone": "手机号", "id_number": "身份证号", "community": "所属社区",
                  "kind": "类型", "employer": "工作单位", "branch": "党支部"}
IMPORT_KINDS = {"volunteer": "志愿者", "party_member": "在职党员"}
IMPORT_MODES = {"all_or_nothing": "全部无误才导入", "valid_only": "只导入无误的行"}
IMPORT_ROW_PROBLEMS = {
    "name_required": "请填写姓名。",
    "name_too_long": "姓名不能超过 60 个字。",
    "phone_invalid": "手机号须为 11 位手机号码。",
    "id_number_format": "身份证号须为 18 位（最后一位可为 X）。",
    "id_number_birth_date": "身份证号中的出生日期不正确。",
    "id_number_check_digit": "身份证号校验位不正确，请核对。",
    "community_required": "请填写所属社区。",
    "community_unknown": "找不到社区“{name}”，或该社区不在您的管辖范围内。",
    "community_ambiguous": "有多个名为“{name}”的社区，请联系上级管理员分开导入。",
    "kind_unknown": "类型须为：{kinds}。",
    "kind_employer_only": "单位只能导入本单位的在职党员。",
    "employer_required": "在职党员须填写工作单位（统一社会信用代码或单位名称）。",
    "employer_unknown": "找不到工作单位“{name}”，请先登记该单位。",
    "employer_not_own": "工作单位须为本单位（{name}）。",
    "branch_unknown": "找不到党支部“{name}”。",
    "branch_ambiguous": "有多个名为“{name}”的党支部，请留空后在系统中登记。",
    "duplicate_in_file": "与第 {row} 行重复。",
    "id_number_registered_other": "该身份证号已登记，但姓名或手机号与系统中的不同。",
    "phone_registered_other": "该手机号已被其他人员注册。",
}
# --- teams (志愿服务队) ---------------------------------------------------------------------------------------
TEAM_KINDS = {"general": "志愿服务队", "professional": "专业志愿服务队"}
# The professions a professional team serves with (issue 17: 医护人员、教师、律师等10类专业人员).
PROFESSIONS = {
    "medical": "医护", "teacher": "教师", "lawyer": "律师", "counselling": "心理咨询", "legal_aid": "法律",
    "repair": "维修", "arts": "文艺", "technology": "科技", "rescue": "应急救援", "other": "其他",
}
TEAM_STATES = {"active": "活跃", "dissolved": "已解散"}
TEAM_MEMBER_STATES = {"applied": "待审核", "active": "队员", "refused": "未通过", "left": "已退出"}
TEAM_ROLES = {"leader": "队长", "member": "队员"}
TEAM_CLAIM_STATES = {"active": "已认领", "withdrawn": "已撤回"}
# Team hours: which minutes each figure counts.
TEAM_HOURS = {
    "all_minutes": "队员服务时长（现有队员本期全部入账时长）",
    "team_task_minutes": "团队认领任务时长（本队认领的任务上入账的时长）",
}
AUDIT_ACTIONS.update({
    "team.create": "新建服务队", "team.update": "修改服务队", "team.dissolve": "解散服务队",
    "team_member.decide": "审核入队申请", "team_member.remove": "移出队员",
    "team.claim": "团队认领任务", "team.claim_withdraw": "撤回团队认领",
})
AUDIT_TARGETS.update({"team": "服务队", "team_member": "队员", "team_claim": "团队认领"})
# --- cobuilding: unit report-in, resources, agreements, contributions, 双评议 ------------------------------------
UNIT_REPORT_IN_STATES = {"pending": "待社区接收", "active": "有效", "rejected": "未接收", "lapsed": "已过期",
                         "withdrawn": "已撤回"}
RESOURCE_KINDS = {"venue": "场地", "funds": "资金", "goods": "物资", "skill": "专业技能", "volunteers": "志愿者"}
AGREEMENT_STATES = {"pending": "待生效", "in_force": "生效中", "void": "未生效", "ended": "已终止"}
CONTRIBUTION_KINDS = {"funds": "资金", "venue": "场地", "goods": "物资", "other": "其他"}
UNIT_GRADES = {"good": "好", "fairly_good": "较好", "average": "一般", "poor": "差"}
EVALUATION_ASPECTS = {"service": "参与社区服务", "resources": "资源共享", "agreement": "共建协议履行"}
AUDIT_ACTIONS.update({
    "unit_report_in.submit": "单位报到", "unit_report_in.accept": "接收单位报到",
    "unit_report_in.reject": "退回单位报到", "unit_report_in.renew": "续期单位报到",
    "unit_report_in.withdraw": "撤回单位报到", "unit_resource.add": "新增资源", "unit_resource.update": "修改资源",
    "contribution.record": "登记共建贡献", "contribution.reverse": "冲正共建贡献",
    "unit_evaluation.record": "评议单位",
})
AUDIT_TARGETS.update({"unit_report_in": "单位报到", "unit_resource": "资源清单", "contribution": "共建贡献",
                      "unit_evaluation": "单位评议"})


def yuan(fen: int | None) -> str:
    """Integer fen as yuan with two decimals (12345 → "123.45"); None as a dash."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def label(table: dict[str, str], key: object, default: str | None = None) -> str:
    """The label of `key` (an enum or its value) in `table`; unknown keys read as `default` or 其他."""
    value = getattr(key, "value", key)
    return table.get(str(value), default if default is not None else "其他")


# --- needs: deadlines, escalation, micro-wish claims ---
NEED_STATES = {"open": "待受理", "accepted": "已受理", "claimed": "已认领", "rejected": "未受理",
               "fulfilled": "已完成", "closed": "已关闭"}
OVERDUE = {"respond": "超时未响应", "fulfil": "超时未办结"}
NEED_FILTER_OVERDUE, NEED_FILTER_ESCALATED = "已超时", "上报给我"
ESCALATION_CAUSES = {"manual": "人工上报", "respond": "超时未响应，系统自动上报", "fulfil": "超时未办结，系统自动上报"}
WISH_CLAIM_STATES = {"claimed": "已认领", "fulfilled": "待确认", "confirmed": "已确认", "withdrawn": "已放弃"}
WISH_WAYS = {"goods": "捐赠物资", "service": "上门服务"}
ORG_KINDS = {"district": "区", "street": "街道", "community": "社区", "grid": "网格", "building": "楼栋"}
NEED_FIGURES_HEADERS = ("组织", "发布需求", "已响应", "响应时长中位数（小时）", "平均响应时长（小时）", "应办结",
                        "按期办结", "按期办结率", "认领完成微心愿", "惠及群众（人）")

# --- projects (服务项目) and the three lists (三张清单) ---
PROJECT_TIERS = {"basic": "基础项目", "key": "重点项目", "flagship": "精品项目"}
PROJECT_STATES = {"open": "待认领", "claimed": "已认领", "in_progress": "实施中", "accepted": "已验收",
                  "closed": "已结项", "cancelled": "已取消"}
CLAIMANT_KINDS = {"unit": "单位党组织", "branch": "党支部", "team": "志愿服务队"}
THREE_LISTS = {"needs": "需求清单", "resources": "资源清单", "projects": "项目清单"}
AUDIT_ACTIONS.update({
    "project.create": "设计服务项目", "project.claim": "认领服务项目", "project.withdraw": "撤回项目认领",
    "project.task": "发布项目任务", "project.accept": "验收服务项目", "project.close": "服务项目结项",
    "project.cancel": "取消服务项目", "project.resource": "对接项目资源", "need.release": "需求退回需求清单",
})
AUDIT_TARGETS.update({"project": "服务项目"})
