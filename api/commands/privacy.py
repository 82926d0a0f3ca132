"""`shixi privacy export|erase`: one student's personal data out, or gone (SPEC section 13)."""

from __future__ import annotations

from pathlib import Path

from core.privacy import erase, export_zip, find_student_for
from models.audit import record
from models.db import session_scope
from models.types import utcnow

TABLE_NAMES = {
    "students": "学生", "checkins": "签到", "location_samples": "位置记录", "journals": "日志",
    "tickets": "维权工单", "alerts": "预警", "case_notes": "处理记录", "placements": "实习岗位",
    "channel_accounts": "聊天账号绑定", "invite_codes": "绑定码", "consents": "隐私同意",
    "guardianships": "家长关系", "parents": "家长", "makeup_requests": "补卡申请",
    "outbox": "推送消息", "audit_log": "操作记录", "conversation_states": "对话状态",
    "bind_failures": "绑定失败记录",
}  # fmt: skip


def summary(counts: dict[str, int]) -> str:
    return "，".join(f"{TABLE_NAMES.get(t, t)} {n} 条" for t, n in counts.items() if n) or "无"


def export_student(engine, student_no: str, out: Path) -> str:
    now = utcnow()
    with session_scope(engine) as session:
        student = find_student_for(session, student_no)
        data, counts = export_zip(session, student, at=now)
        out.write_bytes(data)
        record(
            session,
            actor="cli",
            action="privacy.export",
            target_kind="student",
            target_id=student.id,
            school_id=student.school_id,
            rows=counts,
        )
    return f"已导出学号 {student_no} 的个人信息到 {out}：{summary(counts)}"


def erase_student(engine, student_no: str) -> str:
    with session_scope(engine) as session:
        student = find_student_for(session, student_no)
        counts = erase(session, student, actor="cli", at=utcnow())
    return f"已删除学号 {student_no} 的全部个人信息（只保留一条审计记录）：{summary(counts)}"
