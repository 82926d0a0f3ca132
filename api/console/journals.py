"""Journals to grade: the list, one journal, and the grading form (the student is notified)."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request

from api.console import queries
from api.console.listing import Column, Filter, export_list, ordered, paginate
from api.console.web import (
    ConsoleUserDep,
    CsrfChecked,
    local,
    optional_int,
    redirect,
    render,
    school_options,
)
from api.deps import NowDep, RowId, SessionDep, SettingsDep
from core import journals
from core.feed import JOURNAL_KINDS
from models import Journal, School, Student
from models.audit import record

router = APIRouter()

JOURNAL_STATUSES = {"submitted": "待批阅", "graded": "已批阅"}
BAD_SCORE = "分数须为 0–100 的整数。"
READ_ONLY = "您可以查看这篇日志，但只有学生的指导教师和本校管理员可以批阅。"
COMMENT_MAX = 1000
PREVIEW_CHARS = 40
# Ready-made comments: one click adds the phrase to the comment box.
PHRASES = (
    "内容充实，记录认真。",
    "观察细致，继续保持。",
    "请多写自己的收获和体会。",
    "请补充具体的工作内容。",
    "注意安全，遇到问题及时联系老师。",
    "字数偏少，下次写详细些。",
)
NEXT_NONE = "已批阅，没有更多待批阅的日志了。"


def preview(text: str) -> str:
    """The start of a journal on one line, for the list."""
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[:PREVIEW_CHARS] + "…"


def columns(tz) -> list[Column]:
    return [
        Column(
            "id",
            "编号",
            get=lambda r: r.Journal.id,
            sort=Journal.id,
            link=lambda r: f"/admin/journals/{r.Journal.id}",
        ),
        Column("student_no", "学号", sort=Student.student_no),
        Column("student_name", "姓名", sort=Student.name),
        Column("school", "学校", sort=School.name),
        Column("kind", "类型", get=lambda r: JOURNAL_KINDS.get(r.Journal.kind, r.Journal.kind)),
        Column("period", "周期起", get=lambda r: r.Journal.period_start, sort=Journal.period_start),
        Column(
            "submitted",
            "提交时间",
            get=lambda r: local(r.Journal.submitted_at, tz),
            sort=Journal.submitted_at,
        ),
        Column("preview", "内容预览", get=lambda r: preview(r.Journal.text), wide=True),
        Column("chars", "字数", get=lambda r: r.Journal.char_count),
        Column(
            "status",
            "状态",
            get=lambda r: JOURNAL_STATUSES.get(r.Journal.status),
            sort=ordered(Journal.status, tuple(JOURNAL_STATUSES)),
            tag=lambda r: r.Journal.status,
        ),
        Column("score", "分数", get=lambda r: r.Journal.score, sort=Journal.score),
    ]


@router.get("/admin/journals")
def journal_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ConsoleUserDep,
    status: str = "submitted",
    kind: str = "",
    q: str = "",
    school_id: str = "",
    format: str = "",
):
    if status and status not in JOURNAL_STATUSES:
        raise HTTPException(400, f"未知状态：{status}")
    if kind and kind not in JOURNAL_KINDS:
        raise HTTPException(400, f"未知日志类型：{kind}")
    stmt = queries.journals(user, status=status, kind=kind, q=q, school_id=optional_int(school_id))
    cols = columns(settings.tz)
    if format:
        return export_list(session, stmt, request, cols, "日志")
    page = paginate(
        session,
        stmt,
        request,
        cols,
        default_sort="submitted",
        default_desc=True,
        page_size=settings.console.page_size,
    )
    page.args.setdefault("status", status)
    fields = [
        Filter("status", "状态", list(JOURNAL_STATUSES.items())),
        Filter("kind", "类型", list(JOURNAL_KINDS.items())),
        Filter("q", "姓名/学号"),
        Filter("school_id", "学校", school_options(session, user)),
    ]
    message = NEXT_NONE if request.query_params.get("done") else ""
    return render(
        request,
        "list.html",
        user=user,
        title="日志批阅",
        page=page,
        columns=cols,
        fields=fields,
        message=message,
    )


def _journal(session, user, journal_id: int) -> Journal:
    journal = queries.visible(session, user, Journal, journal_id)
    if journal is None:
        raise HTTPException(404, "没有这篇日志，或您无权查看。")
    return journal


@router.get("/admin/journals/{journal_id}")
def journal_page(request: Request, journal_id: RowId, session: SessionDep, user: ConsoleUserDep):
    journal = _journal(session, user, journal_id)
    student = session.get(Student, journal.student_id)
    return render(
        request,
        "journal.html",
        user=user,
        title="日志",
        journal=journal,
        student=student,
        kinds=JOURNAL_KINDS,
        phrases=PHRASES,
        error="",
        can_edit=queries.writable(session, user, Journal, journal.id),
    )


def next_to_grade(session, user, after: Journal) -> int | None:
    """The oldest other journal waiting for a grade in the user's scope, if any."""
    stmt = (
        queries.journals(user, status="submitted")
        .where(Journal.id != after.id)
        .order_by(Journal.submitted_at, Journal.id)
        .limit(1)
    )
    row = session.execute(stmt).first()
    return row.Journal.id if row else None


@router.post("/admin/journals/{journal_id}/grade", dependencies=[CsrfChecked])
def grade(
    request: Request,
    journal_id: RowId,
    session: SessionDep,
    now: NowDep,
    user: ConsoleUserDep,
    score: str = Form(""),
    comment: str = Form(""),
    then: str = Form(""),
):
    journal = _journal(session, user, journal_id)
    if not queries.writable(session, user, Journal, journal.id):
        raise HTTPException(403, READ_ONLY)
    student = session.get(Student, journal.student_id)
    try:
        value = int(score.strip())
    except ValueError:
        value = -1
    if not 0 <= value <= 100 or len(comment) > COMMENT_MAX:
        error = BAD_SCORE if not 0 <= value <= 100 else f"评语最多 {COMMENT_MAX} 字。"
        return render(
            request,
            "journal.html",
            400,
            user=user,
            title="日志",
            journal=journal,
            student=student,
            kinds=JOURNAL_KINDS,
            phrases=PHRASES,
            error=error,
            can_edit=True,
        )
    # The same grade and message as 批阅 in chat.
    journals.grade(journal, score=value, comment=comment, grader=user.username, now=now)
    session.add(journal)
    journals.tell_student_graded(session, journal, now=now)
    record(
        session,
        actor=user.username,
        action="journal_graded",
        target_kind="journal",
        target_id=journal.id,
        school_id=journal.school_id,
        score=value,
    )
    session.commit()
    if then == "next":  # save and go on to the next one waiting
        following = next_to_grade(session, user, journal)
        if following is not None:
            return redirect(f"/admin/journals/{following}?graded_prev={journal.id}")
        return redirect("/admin/journals?status=submitted&done=1")
    return redirect(f"/admin/journals/{journal.id}?graded=1")
