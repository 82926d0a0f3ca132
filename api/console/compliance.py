"""合规: per-rule and per-school summary, the findings list (filters, export), one finding's
evidence, and waive / resolve / reopen with a note by the student's school admin or teacher."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request

from api.console import queries
from api.console.compliance_summary import summary
from api.console.listing import Column, Filter, export_list, paginate
from api.console.web import (
    ConsoleUserDep,
    CsrfChecked,
    optional_int,
    redirect,
    render,
    school_options,
)
from api.deps import NowDep, RowId, SessionDep, SettingsDep
from core.compliance import RULES, SEVERITY_NAMES
from core.scope import can_decide_finding
from models import Company, Finding, Placement, School, Student
from models.audit import record

router = APIRouter()

TITLE = "合规检查"
INTRO = (
    "每天依据《职业学校学生实习管理规定》（教职成〔2021〕4号）和《未成年工特殊保护规定》"
    "检查所有在岗实习。“数据缺失”表示花名册缺少判断所需的信息，不计为违规。"
)
STATUS_NAMES = {"open": "待处理", "waived": "已豁免", "resolved": "已解决"}
# action -> (new status, statuses it may come from, button label)
ACTIONS = {
    "waive": ("waived", ("open",), "豁免（需写明理由）"),
    "resolve": ("resolved", ("open", "waived"), "标记已解决"),
    "reopen": ("open", ("waived", "resolved"), "重新打开"),
}
NOTE_MAX = 2000
NOTE_NEEDED = "请填写备注（最多 2000 字）：豁免和解决都需要写明理由。"
NOT_YOURS = "只有该学生所在学校的管理员或其指导教师可以处理此问题。"
WRONG_STATE = "当前状态为“{status}”，不能执行此操作。"


def _rule_title(rule: str) -> str:
    return RULES[rule].title if rule in RULES else rule


COLUMNS = [
    Column("id", "编号", get=lambda r: r.Finding.id, sort=Finding.id,
           link=lambda r: f"/admin/compliance/findings/{r.Finding.id}"),
    Column("rule", "问题", get=lambda r: _rule_title(r.Finding.rule), sort=Finding.rule),
    Column("severity", "级别", get=lambda r: SEVERITY_NAMES.get(r.Finding.severity, "")),
    Column("student_no", "学号", sort=Student.student_no),
    Column("student_name", "姓名"),
    Column("school", "学校", sort=School.name),
    Column("company", "实习单位", sort=Company.name),
    Column("detail", "依据", get=lambda r: r.Finding.detail[:80]),
    Column("first_seen", "首次发现", get=lambda r: r.Finding.first_seen, sort=Finding.first_seen),
    Column("last_seen", "最近确认", get=lambda r: r.Finding.last_seen, sort=Finding.last_seen),
    Column("status", "状态", get=lambda r: STATUS_NAMES.get(r.Finding.status, r.Finding.status),
           sort=Finding.status),
    Column("article", "条款", get=lambda r: r.Finding.article),
    Column("note", "备注", get=lambda r: r.Finding.note),
]  # fmt: skip


@router.get("/admin/compliance")
def compliance_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: ConsoleUserDep,
    rule: str = "",
    status: str = "",
    severity: str = "",
    school_id: str = "",
    format: str = "",
):
    if rule and rule not in RULES:
        raise HTTPException(400, f"未知规则：{rule}")
    if status and status not in STATUS_NAMES:
        raise HTTPException(400, f"未知状态：{status}")
    if severity and severity not in SEVERITY_NAMES:
        raise HTTPException(400, f"未知级别：{severity}")
    stmt = queries.findings(
        user, rule=rule, status=status, severity=severity, school_id=optional_int(school_id)
    )
    if format:
        return export_list(session, stmt, request, COLUMNS, "合规问题")
    page = paginate(
        session, stmt, request, COLUMNS, default_sort="first_seen", default_desc=True,
        page_size=settings.console.page_size,
    )  # fmt: skip
    fields = [
        Filter("rule", "问题", [(r.id, r.title) for r in RULES.values()]),
        Filter("status", "状态", list(STATUS_NAMES.items())),
        Filter("severity", "级别", list(SEVERITY_NAMES.items())),
        Filter("school_id", "学校", school_options(session, user)),
    ]
    today = now.astimezone(settings.tz).date()
    return render(
        request, "compliance.html", user=user, title=TITLE, intro=INTRO, page=page,
        columns=COLUMNS, fields=fields, summary=summary(session, user, settings, today),
        rules=RULES, severity_names=SEVERITY_NAMES,
    )  # fmt: skip


def _finding(session, user, finding_id: int) -> Finding:
    row = queries.visible(session, user, Finding, finding_id)
    if row is None:
        raise HTTPException(404, "没有这条记录，或您无权查看。")
    return row


def _page(request, session, user, finding: Finding, status_code: int = 200, error: str = ""):
    student = session.get(Student, finding.student_id)
    placement = session.get(Placement, finding.placement_id)
    company = session.get(Company, finding.company_id)
    school = session.get(School, finding.school_id)
    return render(
        request, "finding.html", status_code, user=user, title=f"合规问题 #{finding.id}",
        finding=finding, rule=RULES.get(finding.rule), student=student, placement=placement,
        company=company, school=school, statuses=STATUS_NAMES, actions=ACTIONS, error=error,
        may_decide=can_decide_finding(user, finding, student.teacher_id if student else None),
        severity_names=SEVERITY_NAMES,
    )  # fmt: skip


@router.get("/admin/compliance/findings/{finding_id}")
def finding_page(request: Request, finding_id: RowId, session: SessionDep, user: ConsoleUserDep):
    return _page(request, session, user, _finding(session, user, finding_id))


@router.post("/admin/compliance/findings/{finding_id}/status", dependencies=[CsrfChecked])
def finding_move(
    request: Request,
    finding_id: RowId,
    session: SessionDep,
    now: NowDep,
    user: ConsoleUserDep,
    action: str = Form(""),
    note: str = Form(""),
):
    finding = _finding(session, user, finding_id)
    student = session.get(Student, finding.student_id)
    if not can_decide_finding(user, finding, student.teacher_id if student else None):
        return _page(request, session, user, finding, 403, NOT_YOURS)
    if action not in ACTIONS:
        return _page(request, session, user, finding, 400, "未知操作。")
    new_status, allowed, _ = ACTIONS[action]
    if finding.status not in allowed:
        error = WRONG_STATE.format(status=STATUS_NAMES.get(finding.status, finding.status))
        return _page(request, session, user, finding, 409, error)
    note = note.strip()
    if len(note) > NOTE_MAX or (action != "reopen" and not note):
        return _page(request, session, user, finding, 400, NOTE_NEEDED)
    finding.status = new_status
    finding.note = note or finding.note
    finding.waived_by = user.username if new_status == "waived" else finding.waived_by
    finding.resolved_at = now if new_status == "resolved" else None
    finding.updated_at = now
    session.add(finding)
    record(
        session, actor=user.username, action=f"finding_{action}", target_kind="finding",
        target_id=finding.id, school_id=finding.school_id, status=new_status, note=note[:200],
    )  # fmt: skip
    session.commit()
    return redirect(f"/admin/compliance/findings/{finding.id}")


__all__ = ["router"]
