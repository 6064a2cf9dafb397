"""The one table of messages people read: every stable error `code` → a Chinese template with named parameters.

Errors carry a `code` (English snake_case, stable: clients and tests match on it), an optional `variant` (when one
code covers several situations that read differently) and parameters. `TimebankError` computes its `detail` from
this table; the ledger's errors carry the same three things but never read the table (the ledger imports nothing
of the app): translators — the API's problem+json, the pages, jobs — render any refusal with `describe(exc)`.

A template says what happened and what to do, in Chinese, and never shows an internal id. Keys are `code` or
`code.variant`; `tests/test_messages.py` walks the source and fails when a raise names a key missing here or
a template needs a parameter that the raise does not pass.
"""

from __future__ import annotations

import json
import logging

log = logging.getLogger("timebank.messages")

FALLBACK = "请求无法完成，请返回后重试。"

# Stable codes for the HTTP errors that Flask / webargs raise before our code runs (the API's problem `code`;
# the pages show their message).
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
}

MESSAGES: dict[str, str] = {
    # --- generic codes: an error class's default, and HTTP-level errors raised before our code runs ----------
    "bad_request": "请求无效，请检查后重试。",
    "not_found": "找不到该记录，可能已被删除。",
    "forbidden": "您没有进行此操作的权限。",
    "unauthorized": "请先登录。",
    "conflict": "操作冲突，请刷新页面后重试。",
    "invalid_input": "填写的内容有误，请检查后重试。",
    "rule_violation": "该操作不符合规定，无法办理。",
    "ledger_error": "账务处理未能完成，请稍后重试。",
    "method_not_allowed": "不支持此操作，请返回后重试。",
    "precondition_failed": "记录已被他人修改，请刷新后重试。",
    "payload_too_large": "提交的内容过大，请精简后重试。",
    "unsupported_media_type": "提交的内容格式不受支持，请以 JSON 提交。",
    "validation_failed": "提交的内容不符合要求，请按各字段的提示修改后重试。",
    "precondition_required": "缺少必需的请求头，请补充后重试。",
    "too_many_requests": "操作过于频繁，请稍后再试。",
    "request_line_too_long": "请求地址过长，请减少查询条件后重试。",
    "request_headers_too_large": "请求头过大，请清除浏览器缓存或重新登录后重试。",
    "malformed_request": "请求格式有误，无法识别，请使用正常的浏览器或客户端重试。",
    "unsupported_transfer_coding": "请求的传输编码不受支持，请使用正常的浏览器或客户端重试。",
    "password_length": "新密码至少 {min_length} 位。",
    "password_unchanged": "新密码不能与当前密码相同。",
    "cannot_deactivate_self": "不能停用自己的账号。",
    "too_many_logins": "登录失败次数过多，请 {retry_after} 秒后再试。",
    "too_many_codes": "获取验证码过于频繁，请 {retry_after} 秒后再试。",
    "login_busy": "登录的人较多，请稍后再试。",
    "internal_error": "系统出现错误，已记录，请稍后再试。",
    "http_error": FALLBACK,
    "malformed_json": "提交的内容不是有效的 JSON，请检查格式后重试。",
    "json_too_deep": "提交的内容嵌套层数过多（最多 {limit} 层）。",
    "number_out_of_range": "数字超出允许的范围。",
    "unstorable_text": "内容中含有无法保存的字符（如空字符），请删除后重试。",
    "date_out_of_range": "日期超出允许的范围（{min_year} 至 {max_year} 年）。",
    "database_unavailable": "数据库连接中断，请稍后重试。",
    "queue_unavailable": "后台任务服务暂时不可用，请稍后重试。",
    # --- pages ---------------------------------------------------------------------------------------------
    "csrf_failed": "页面已过期或请求来源不明，请刷新后重试。",
    "form_expired": "表单已过期，请返回后重新提交。",
    "page_forbidden": "您没有访问此页面的权限。",
    "page_not_found": "找不到您要访问的页面，请检查网址，或回到首页选择入口。",
    "page_forbidden.switch": "当前登录的账号没有访问此页面的权限。如需使用其他账号，请退出后重新登录。",
    "not_merchant_staff": "您不是该商户的店员，请联系商户负责人添加。",
    "not_merchant_staff.any": "您不是任何商户的店员，请联系商户负责人添加。",
    "not_employer_contact": "您不是该单位的联络人，请联系社区确认。",
    "not_employer_contact.any": "您不是任何单位的联络人，请联系社区确认。",
    "roster_out_of_scope": "该单位的名册不在您的权限范围内。",
    # --- sign-in and API access ----------------------------------------------------------------------------
    "invalid_credentials": "手机号或密码不正确，请重新输入。",
    "invalid_token": "登录已过期或无效，请重新登录。",
    "invalid_token.revoked": "登录已被注销，请重新登录。",
    "invalid_api_key": "API 密钥无效，请向管理员重新申请。",
    "auth_required": "请先登录，或在请求中附上 API 密钥。",
    "auth_required.bearer": "此操作须由本人登录后办理，不接受 API 密钥。",
    "auth_required.api_key": "此操作须使用商户或单位的 API 密钥。",
    "invalid_cursor": "分页位置无效，请从第一页重新查询。",
    "idempotency_key_reused": "该幂等键已用于另一个请求，请为新请求换一个幂等键。",
    "idempotency_key_required": "此操作涉及积分变动，请附上幂等键（Idempotency-Key）后重试。",
    "invalid_idempotency_key": "幂等键须为 1 到 100 个字符，请修改后重试。",
    "csv_not_utf8": "CSV 文件须为 UTF-8 编码，请另存为 UTF-8 后重新上传。",
    "webhook_url_invalid": "推送地址格式不正确，请填写商户提供的完整网址，最多 500 个字符。",
    # --- scope and who may act -----------------------------------------------------------------------------
    "out_of_scope": "该记录不在您的管辖范围内。",
    "out_of_scope.auditor_only": "只有审计员或区级管理员可以查看对账结果。",
    "out_of_scope.merchant_account": "该商户账户不在您的管辖范围内。",
    "out_of_scope.community_account": "该社区账户不在您的管辖范围内。",
    "out_of_scope.other_merchant": "这是其他商户的记录，您无权查看或办理。",
    "out_of_scope.other_employer": "这是其他单位的记录，您无权查看或办理。",
    "out_of_scope.person": "该人员不在您的管辖范围内。",
    "out_of_scope.reward": "该商品不向您提供。",
    "not_owner": "只能办理您本人的记录。",
    "not_a_person": "只有个人账户可以办理此操作。",
    "not_a_person.gift": "只有志愿者本人可以赠与积分。",
    "not_a_person.balance": "只有个人账户可以查看自己的余额。",
    "not_a_person.report_in": "只有党员本人可以报到。",
    "people_only": "只有个人账户可以办理此操作，请用个人账号登录。",
    "volunteer_only": "只有志愿者可以兑换积分，请用志愿者账号登录。",
    "self_attendance": "不能为自己确认或补录服务时长，请由其他工作人员办理。",
    "self_verification": "不能审核自己的服务时长，请由其他工作人员审核。",
    # --- organisations, people, partners -------------------------------------------------------------------
    "org_not_found": "找不到该组织，请刷新后重新选择。",
    "org_level_mismatch": "组织层级不正确：只有区可以作为最上级。",
    "org_level_mismatch.parent": "组织层级不正确：该类组织不能设在所选的上级之下，请重新选择上级组织。",
    "not_a_community": "请选择一个社区。",
    "not_a_community.report_in": "请选择一个社区报到（不能是街道或网格）。",
    "not_a_district": "考评周期须建在区一级，请选择一个区。",
    "not_in_community": "该人员没有所属社区，请先登记所在社区。",
    "not_in_community.need": "需求须发布在社区或其下的网格，请重新选择。",
    "not_in_community.task": "任务须发布在社区或其下的网格，请重新选择。",
    "not_in_community.org": "该组织不在任何社区之内，请选择社区或网格。",
    "person_not_found": "找不到该人员，请核对后重试。",
    "person_not_found.recipient": "受赠人不存在，请核对手机号后重试。",
    "person_not_found.resident": "该手机号尚未登记为居民，请核对手机号，或先请社区为居民登记。",
    "phone_taken": "该手机号已注册，请直接登录或换一个手机号。",
    "person_exists": "该手机号或身份证号已注册，请核对后重试。",
    "home_org_required": "请先登记所在社区。",
    "home_org_required.redeem": "您尚未登记所在社区，无法兑换，请先登记所在社区。",
    "employer_required": "在职党员须填写工作单位。",
    "grant_target": "授权对象须是组织、商户或单位中的一个，请只选择一个。",
    "grant_target.merchant": "店员角色须授予在商户上，请选择商户。",
    "grant_target.employer": "单位联络人角色须授予在单位上，请选择单位。",
    "grant_target.org": "该角色须授予在组织上，请选择组织。",
    "invalid_credit_code": "统一社会信用代码须为 18 位且校验位正确，请核对后重试。",
    "employer_exists": "该统一社会信用代码的单位已登记，无需重复添加。",
    "employer_not_found": "找不到该单位，请核对后重试。",
    "employer_not_found.own": "请先登记您的工作单位。",
    "merchant_exists": "该统一社会信用代码的商户已登记，无需重复添加。",
    "merchant_not_found": "找不到该商户，请核对后重试。",
    "api_key_not_found": "找不到该 API 密钥，可能已被吊销。",
    # --- needs, tasks, claims, attendance ------------------------------------------------------------------
    "unknown_category": "服务类别“{category}”不在本区的类别中，请从以下类别中选择：{allowed}。",
    "wanted_by_past": "期望完成时间已过，请选择今后的时间。",
    # --- needs: deadlines, escalation, micro-wish claims ---
    "reason_required.escalate": "上报须说明理由，请填写后重试。",
    "reason_too_long.goods": "物资说明最多 {max_chars} 个字，请精简。",
    "need_at_top": "该需求已在区级办理，无法继续上报。",
    "need_already_escalated": "该需求刚刚已被上报，请刷新后查看。",
    "figures_by": "统计口径只能是社区或街道。",
    "period_too_long": "统计区间须在 {max_days} 天以内，且结束日期晚于开始日期。",
    "not_a_wish": "只有微心愿可以直接认领，其他需求由社区派单。",
    "own_wish": "不能认领自己的心愿。",
    "goods_description_required": "以物资认领时请写明捐赠的物品。",
    "wish_taken": "该心愿已被他人认领，请看看其他心愿。",
    "wish_claim_not_found": "找不到该认领记录，请刷新后重试。",
    "wish_claim_state": "该认领当前的状态不允许此操作，请刷新后查看。",
    "people_helped_range": "惠及人数须在 1 至 {max_people} 之间。",
    "need_not_found": "找不到该需求，可能已被删除。",
    "need_state": "该需求当前的状态不允许此操作，请刷新后查看。",
    "need_other_community": "该需求属于其他社区，请在需求所在社区发布任务。",
    "need_not_fulfilled": "只能评价已完成的服务，请在服务完成后再评价。",
    "stars_range": "评分须为 1 到 5 星。",
    "already_rated": "该服务已评价过，无需重复评价。",
    "ends_before_start": "结束时间须晚于开始时间，请修改后重试。",
    "task_too_long": "一个任务最长 {max_hours} 小时，请缩短时间或拆成几个任务。",
    "task_in_past": "任务的结束时间已过，请选择今后的时间。",
    "task_too_far": "任务最多只能提前 {max_days} 天发布，请检查开始日期。",
    "task_starts_in_past": "任务的开始时间已过，请选择今后的时间。",
    "task_field_required": "请填写任务的必填项。",
    "task_field_required.title": "请填写任务名称。",
    "task_field_required.place": "请填写服务地点。",
    "task_field_required.category": "请选择服务类别。",
    "task_field_too_long.category": "服务类别最多 {max_chars} 个字。",
    "task_field_too_long": "填写的内容过长，最多 {max_chars} 个字。",
    "task_field_too_long.title": "任务名称最多 {max_chars} 个字，请精简。",
    "task_field_too_long.place": "服务地点最多 {max_chars} 个字，请精简。",
    "task_field_too_long.description": "任务说明最多 {max_chars} 个字，请精简。",
    "slots_range": "名额须为 1 到 {max_slots} 之间的整数。",
    "slots_below_claimed": "已有 {claimed} 人报名，名额不能少于已报名人数。",
    "task_cancelled.edit": "该任务已取消，不能再修改。",
    "task_started.edit": "任务已开始，不能再改时间或名额；名称、地点和说明仍可修改。",
    "task_ended.cancel": "任务已结束，不能取消。",
    "task_form_incomplete": "请完整填写开始时间、结束时间和名额（名额须为整数）。",
    "points_rule_exceeded": "本社区规定每小时最多 {max_points} 积分，请调低积分。",
    "eligibility": "重点项目须指定由某个党支部或单位的党员认领。",
    "eligibility.branch_missing": "请选择一个存在的党支部作为认领范围。",
    "eligibility.branch_unexpected": "只有“指定党支部”的任务才需要选择党支部。",
    "eligibility.employer_missing": "请选择一个存在的单位作为认领范围。",
    "eligibility.employer_unexpected": "只有“指定单位”的任务才需要选择单位。",
    "task_not_found": "找不到该任务，可能已被删除。",
    "task_state": "该任务已取消，无需重复取消。",
    "task_cancelled": "该任务已取消，请选择其他任务。",
    "task_started": "任务已开始，不能再认领。",
    "task_started.withdraw": "任务已开始，不能退出。",
    "task_not_started": "任务尚未开始，请在任务开始后再办理。",
    "task_ended": "任务已结束，不能签到；如确实参加了服务，请联系社区补录。",
    "task_full": "该任务名额已满，请选择其他任务。",
    "not_eligible": "该任务仅限指定党支部或单位的党员认领，请选择其他任务。",
    "already_claimed": "您已认领该任务，无需重复认领。",
    "claim_not_found": "找不到该认领记录，请刷新后重试。",
    "claim_state": "该认领已结束或已取消，请刷新后查看。",
    "has_attendance": "该认领已有签到记录，不能标记为缺席。",
    "no_active_claim": "没有该任务的有效认领，无法签到，请先认领任务。",
    "attendance_overlap": "与已有的签到记录时间重叠，请核对签到时间。",
    "attendance_too_short": "服务时长不足一分钟，不予记录。",
    "task_cap_reached": "该任务的服务时长已达上限，超出部分不予记录。",
    "daily_cap_reached": "今日服务时长已达上限（每日最多 {daily_minutes_cap} 分钟），请明天再来。",
    "checkin_token_invalid": "签到码无效，请扫描现场的二维码。",
    "checkin_token_expired": "签到码已过期，请扫描现场最新的二维码。",
    "checkin_token_replayed": "该签到码已使用过，请扫描最新的二维码。",
    "outside_task_window": "不在该任务的时间范围内，请核对签到和签退时间。",
    "outside_task_window.checkin": "不在该任务的签到时间内，请在任务时间内签到。",
    "not_checked_in": "没有未签退的签到记录，请先签到。",
    "time_in_future": "签退时间不能晚于现在，请修改后重试。",
    "reason_required": "请填写理由。",
    "reason_required.late_entry": "补录须说明理由，请填写后重试。",
    "reason_required.rejection": "驳回须说明理由，请填写后重试。",
    "reason_required.close": "关闭需求须说明理由，居民会看到它，请填写后重试。",
    "reason_too_long": "理由最多 {max_chars} 个字，请精简。",
    "attendance_not_found": "找不到该签到记录，请刷新后重试。",
    "attendance_open": "尚未签退，不能审核，请待志愿者签退后再审核。",
    "already_verified": "该记录已审核，无需重复审核。",
    "minutes_out_of_range": "认定时长须在 1 到 {attended} 分钟（实际服务时长）之间。",
    "duplicate_attendance": "同一条签到记录在本批中出现了两次，请去掉重复的记录。",
    "attendance_not_accepted": "只有已通过审核的服务时长可以投诉。",
    "attendance_not_accepted.decide": "该服务时长已不是通过状态，无需再处理投诉。",
    "complaint_not_found": "找不到该投诉，请刷新后重试。",
    "complaint_decided": "该投诉已处理，无需重复处理。",
    "not_verified": "该签到记录尚未审核，暂无审核结果。",
    "invalid_period": "时间范围无效，请检查后重试。",
    "invalid_period.ends_before_start": "结束时间必须晚于开始时间，请修改后重试。",
    "invalid_period.quarter": "季度请选 1–4。",
    "invalid_period.half_year": "半年请选 1–2。",
    "invalid_period.format": "统计期须写成 年（2025）、半年（2025-H1）、季度（2025-Q1）或月份（2025-01）。",
    "invalid_period.month": "月份须为 01 到 12。",
    "invalid_period.too_long": "结算期最长一年，请缩短后重试。",
    # --- accounts and gifts --------------------------------------------------------------------------------
    "account_not_found": "找不到该账户，请核对后重试。",
    "account_not_found.person_ledger": "该人员尚无此账本的账户。",
    "invalid_amount": "金额须为正整数，请修改后重试。",
    "invalid_amount.adjustment": "调整数额必须是非零整数，请修改后重试。",
    "one_recipient": "请指定一个受赠人（手机号）或受赠社区，只能选一个。",
    "gift_note_too_long": "附言最多 {max_chars} 个字，请精简。",
    "gift_exceeds_available": "可用积分只有 {available}，不够转赠 {amount} 积分（还差 {shortfall}），请修改。",
    "gift_to_self": "不能赠与自己，请选择其他受赠人。",
    "community_not_found": "受赠社区不存在，请重新选择。",
    "no_reconciliation": "尚无对账记录，请等待下一次对账完成后再查看。",
    # --- the ledger (its errors carry the code; the text lives here) ----------------------------------------
    "insufficient_funds": "账户余额不足，无法完成这笔交易。",
    "insufficient_funds.shortfall": "账户余额不足，还差 {shortfall}，请确认余额后再试。",
    "insufficient_funds.credit_limit": "对方账户已达上限，无法再转入，请联系社区处理。",
    "insufficient_funds.reward": "积分不足，兑换该商品需要 {needed} 积分。",
    "idempotency_conflict": "这笔交易的幂等键已用于另一笔交易，请换一个幂等键后重试。",
    "idempotency_conflict.batch_duplicate": "同一批交易中幂等键重复，请为每笔交易使用不同的幂等键。",
    "idempotency_conflict.batch_partial": "这批交易的部分幂等键已被使用，请核对后重新提交。",
    "hold_not_pending": "这笔冻结已处理过了，无需重复处理。",
    "hold_not_pending.expired": "这笔冻结已超时释放，请重新办理。",
    "already_reversed": "这笔交易已被冲正，无需重复冲正。",
    "already_reversed.batch_duplicate": "同一批交易中重复冲正了同一笔交易，请去掉重复的冲正。",
    "already_reversed.concurrent": "这批交易中的冲正已由另一笔交易完成，无需重复冲正。",
    "ledger_mismatch": "账本类型不正确，只能是分钟或积分账本。",
    "ledger_mismatch.accounts": "交易双方不在同一个账本上，无法转账。",
    "invalid_key": "幂等键须为 1 到 200 个字符，请修改后重试。",
    "invalid_code": "交易类型无效，请检查后重试。",
    "same_account": "借方与贷方不能是同一账户。",
    "batch_too_large": "一批最多 {max_batch} 笔交易，请分批提交。",
    "invalid_timeout": "冻结时限须为 1 秒到 90 天之间的整数秒。",
    "capture_exceeds_hold": "扣款 {posted} 超过了冻结金额 {held}，请核对金额。",
    "not_reversible": "只能冲正已入账的交易；冻结中的交易请用释放。",
    "transfer_not_found": "找不到该交易，请核对后重试。",
    "transfer_not_found.hold": "找不到该冻结，请核对后重试。",
    # --- rewards, redemption, settlement -------------------------------------------------------------------
    "reward_not_found": "找不到该商品，可能已下架。",
    "merchant_suspended": "该商户已暂停兑换，请选择其他商户的商品。",
    "not_offered_here": "该商品不在您所在的社区提供，请选择本社区的商品。",
    "reward_unavailable": "该商品当前不在兑换期内，请在兑换期内再来。",
    "out_of_stock": "该商品已兑完，请选择其他商品。",
    "limit_reached": "您已达到该商品本期的兑换上限，请下期再兑换。",
    "code_exhausted": "暂时无法生成兑换码，请稍后重试。",
    "redemption_not_held": "只有待取货的兑换才有兑换码。",
    "pay_code_invalid": "付款码无效，请让志愿者刷新付款码。",
    "pay_code_used_or_expired": "付款码已使用或已过期，请让志愿者刷新付款码。",
    "redemption_not_found": "找不到该兑换记录，请刷新后重试。",
    "code_required": "请输入志愿者出示的兑换码。",
    "code_required.pickup": "到店取货的兑换须凭志愿者出示的兑换码核销。",
    "code_required.pay_code": "请输入或扫描志愿者出示的付款码。",
    "code_not_found": "兑换码无效，请核对后重新输入。",
    "redemption_released": "该兑换已取消或失效，如仍需要请重新兑换。",
    "redemption_expired": "兑换码已过期，请志愿者重新兑换。",
    "redemption_captured": "该兑换已核销，无法取消；如有问题请联系商户。",
    "scope_required": "请指定商户或社区。",
    "merchant_id_required": "请指定商户后查看其商品。",
    "invalid_window": "兑换结束时间须晚于开始时间，请修改后重试。",
    "communities_required": "请至少选择一个提供该商品的社区。",
    "community_not_served": "只能在商户服务的社区提供商品，请先把这些社区加入商户的服务范围。",
    "not_editable": "该项不能修改。",
    "invalid_stock": "库存不能小于零（不限量的商品无需补货）。",
    "nothing_to_settle": "本期没有待结算的兑换，无需结算。",
    "settlement_exists": "该结算期已按不同的金额结算过，请核对结算期。",
    "settlement_race": "部分兑换正在被同时结算，请稍后重试。",
    "empty_csv": "CSV 文件是空的，请检查后重新上传。",
    "csv_too_large": "CSV 文件超过 5 MB，请拆分后上传。",
    "reconciliation_not_found": "找不到该对账记录，请刷新后重试。",
    "webhook_delivery_not_found": "找不到该推送记录，请刷新后重试。",
    "delivery_pending": "该推送仍在重试中，请等待重试结束后再重新发送。",
    # --- party members and appraisal -----------------------------------------------------------------------
    "not_in_service_member": "只有在职党员可以到社区报到。",
    "not_resident": "只能到居住地所在社区报到，请选择您居住的社区。",
    "report_in_not_found": "找不到该报到记录，请刷新后重试。",
    "branch_not_found": "找不到所选的党支部，请重新选择。",
    "date_in_future": "报到日期不能晚于今天。",
    "already_reported_in": "已有一条有效的报到记录；如需更换社区请使用迁移。",
    "already_reported_in.newer": "已有一条更新的报到记录，请续期那一条。",
    "report_in_not_pending": "该报到已经处理过了，请刷新页面。",
    "report_in_not_renewable": "只有已接收或已过期的报到可以续期。",
    "report_in_not_live": "该报到已结束，不能迁移。",
    "same_community": "您已在该社区报到，请选择新的社区。",
    "period_exists": "该考评周期已经建立。",
    "period_not_found": "找不到该考评周期，请刷新后重试。",
    "run_in_progress": "该周期已有一次考评正在统计，请等它完成后再发起。",
    "run_not_found": "找不到该次考评，请刷新后重试。",
    "report_not_found": "找不到该考评报告，请刷新后重试。",
    "report_not_rendered": "报告尚未生成，请稍后再试。",
    "filter_required": "请指定考评批次或单位。",
    "duplicate_entry": "每位党员只能评议一次，请检查表单。",
    "entry_not_in_report": "所评议的党员不在这份报告中。",
    "email_required": "该单位没有登记电子邮箱，无法通过邮件发送。",
    "email_required.address": "邮件发送须填写电子邮箱地址。",
    "webhook_required": "该单位没有配置接收地址，无法推送。",
    "webhook_required.profile": "推送方式须填写接收地址和签名密钥。",
    "link_invalid": "下载链接无效，请联系社区重新发送。",
    "link_expired": "下载链接已过期，请联系社区重新发送。",
    "invalid_vanguard_weights": "先锋指数的权重“{key}”不存在，请检查配置。",
    "invalid_vanguard_weights.negative": "先锋指数的权重“{key}”须为不小于 0 的数，请检查配置。",
    # --- notifications and one-time codes ----------------------------------------------------------------
    "not_a_person.inbox": "只有个人账户有消息收件箱。",
    "notification_ids_required": "请选择要标为已读的消息。",
    "notification_kind_unknown": "没有“{kind}”这类消息，请刷新后重试。",
    "notification_kind_required": "验证码等安全消息不能关闭。",
    "notification_channel_unknown": "没有“{channel}”这种接收方式，请重新选择。",
    "notification_delivery_not_found": "找不到这条消息发送记录。",
    "notification_not_resendable": "这条消息不能重新发送（验证码过期后请重新获取）。",
    "notification_not_dead": "这条消息还在发送中或已送达，无需重新发送。",
    "phone_invalid": "请输入 11 位手机号码。",
    "code_purpose_unknown": "验证码用途不正确，请刷新后重试。",
    "code_sent_recently": "验证码已发送，请 {seconds} 秒后再获取。",
    "code_invalid": "验证码不正确，还可以再试 {tries_left} 次。",
    "code_expired": "验证码已过期，请重新获取。",
    "code_tries_exhausted": "验证码输错次数过多，请重新获取。",
}


# What a field's validation says (marshmallow's and webargs' English, by pattern) in the words people read: the
# API's `errors` carry these per field, beside the `validation_failed` detail.
FIELD_MESSAGES: tuple[tuple[str, str], ...] = (
    (r"Missing data for required field\.", "必填项，请填写。"),
    (r"Field may not be null\.", "不能为空，请填写。"),
    (r"Unknown field\.", "不认识的字段，请去掉。"),
    (r"Not a valid integer\.", "须为整数。"),
    (r"Not a valid number\.|Number too large\.|Special numeric values.*", "须为有效的数字。"),
    (r"Not a valid boolean\.", "须为是或否（true / false）。"),
    (r"Not a valid date\.|.*cannot be formatted as a date\.", "须为日期，如 2025-01-31。"),
    (r"Not a valid (aware |naive )?datetime\.|.*cannot be formatted as a datetime\.",
     "须为带时区的时间，如 2025-01-31T09:00:00+08:00。"),
    (r"Not a valid (string|utf-8 string)\.", "须为文字。"),
    (r"Not a valid (list|tuple)\.", "须为列表。"),
    (r"Not a valid mapping type\.", "须为对象（键值对）。"),
    (r"Not a valid email address\.", "电子邮箱格式不正确。"),
    (r"Not a valid URL\.", "网址格式不正确。"),
    (r"Must be one of: (?P<choices>.*)\.", "须为以下之一：{choices}。"),
    (r"Shorter than minimum length (?P<min>\d+)\.", "至少 {min} 个字符。"),
    (r"Longer than maximum length (?P<max>\d+)\.", "最多 {max} 个字符。"),
    (r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.", "长度须在 {min} 到 {max} 个字符之间。"),
    (r"Length must be (?P<equal>\d+)\.", "长度须为 {equal} 个字符。"),
    (r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.",
     "须在 {min} 到 {max} 之间。"),
    (r"Must be greater than or equal to (?P<min>\S+)\.", "不能小于 {min}。"),
    (r"Must be less than or equal to (?P<max>\S+)\.", "不能大于 {max}。"),
    (r"Must be greater than (?P<min>\S+)\.", "须大于 {min}。"),
    (r"Must be less than (?P<max>\S+)\.", "须小于 {max}。"),
    (r"String does not match expected pattern\.", "格式不正确。"),
    (r"Invalid (value|type|input type)\.", "填写有误。"),
)


def field_message(text: str) -> str:
    """One field's validation message as people read it: Chinese from `FIELD_MESSAGES`, Chinese kept as is,
    anything else the generic "填写有误"."""
    import re

    if not text.isascii():
        return text
    for pattern, template in FIELD_MESSAGES:
        match = re.fullmatch(pattern, text)
        if match:
            return template.format_map(match.groupdict())
    return "填写有误，请检查后重试。"


def key_of(code: str, variant: str | None = None) -> str:
    return f"{code}.{variant}" if variant else code


def render(code: str, variant: str | None = None, params: dict | None = None) -> str:
    """The Chinese message for `code` (and `variant`) with `params` filled in. A key missing from the table (a test
    forbids that) or a parameter missing from the call falls back to the code's plain message, then a generic one."""
    for key in (key_of(code, variant), code):
        template = MESSAGES.get(key)
        if template is None:
            continue
        try:
            return template.format_map(params or {})
        except (KeyError, IndexError, ValueError):
            log.warning("message parameters missing", extra={"fields": {"key": key}})
            continue
    log.warning("no message for error code", extra={"fields": {"code": code, "variant": variant}})
    return FALLBACK


def problem_body(status: int, code: str, title: str, **extra) -> bytes:
    """A problem+json body written outside Flask (the WSGI guards, the server's own refusals): the same fields as
    the API's problems, the Chinese `detail` from the table."""
    body = {"type": f"about:blank#{code}", "status": status, "code": code, "title": title, **extra,
            "detail": render(code, params=extra or None)}
    return json.dumps(body, ensure_ascii=False).encode()


def describe(exc) -> str:
    """What a person reads for any refusal (the app's errors and the ledger's): the table's message."""
    return render(exc.code, getattr(exc, "variant", None), getattr(exc, "extra", None))
