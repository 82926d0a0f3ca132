"""Who a binding points to, in words (shared by the bind, status and help replies)."""

from __future__ import annotations

from handlers.texts import role_name
from models.people_queries import children_of, person, school_name


def describe(executor, account, lang: str) -> str:
    """学生 张三（学号 S001）、贵州交通职业技术学院 — who a binding points to."""
    en = lang == "en"
    kind = account.person_kind
    school = school_name(executor, school_id=account.school_id)
    where = ((", " if en else "、") + school) if school else ""
    row = person(executor, kind=kind, person_id=account.person_id)
    name = row.name if row is not None else f"#{account.person_id}"
    if kind == "student" and row is not None:
        return _student_line(name, row.student_no, school, lang)
    if kind == "parent":
        kids = "、".join(c.name for c in children_of(executor, parent_id=account.person_id))
        of = f" (parent of {kids})" if en else f"（{kids} 的家长）"
        return f"{role_name(kind, lang)} {name}{of if kids else ''}{where}"
    return f"{role_name(kind, lang)} {name}{where}"


def describe_student(summary, lang: str) -> str:
    """The same for a student, from models.people_queries.student_summaries."""
    return _student_line(summary.name, summary.student_no, summary.school or "", lang)


def _student_line(name: str, student_no: str, school: str, lang: str) -> str:
    en = lang == "en"
    no = f" (student no. {student_no})" if en else f"（学号 {student_no}）"
    where = ((", " if en else "、") + school) if school else ""
    return f"{role_name('student', lang)} {name}{no}{where}"
