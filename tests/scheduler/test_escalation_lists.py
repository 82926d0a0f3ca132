"""Digest lists built in SQL: ordered by streak, numbered, cut at 30 lines, every id kept."""

from __future__ import annotations

from datetime import date

from sched_helpers import add_student, bind_teacher_and_parent, check_in, rows

from scheduler.escalation import MAX_LINES

MON = date(2026, 3, 2)
STUDENTS = MAX_LINES + 3


def test_a_long_digest_lists_longest_silences_first_and_points_to_the_console(
    engine, session, sweep
):
    ids = []
    for i in range(STUDENTS):
        sid = add_student(session, f"S{i:03d}", name=f"学生{i:02d}")
        ids.append(sid)
        # Every third student last checked in on Friday (Saturday was a 调休 workday).
        if i % 3 == 0:
            check_in(session, sid, date(2026, 2, 27))
    bind_teacher_and_parent(session, ids[0])
    sweep(MON, 11, 0)
    [digest] = rows(engine, "teacher_digest")
    lines = digest.text.split("\n")
    assert f"仍有 {STUDENTS} 人未签到" in lines[0]
    numbered = lines[1 : MAX_LINES + 1]
    assert [line.split(".")[0] for line in numbered] == [str(i) for i in range(1, MAX_LINES + 1)]
    streaks = [int(line.split("连续 ")[1].split(" ")[0]) for line in numbered]
    assert streaks == sorted(streaks, reverse=True)
    # Shorter silences (since Friday) come last, by name; the last three fall below the cut.
    assert "学生00" in lines[23] and "学生30" not in digest.text
    assert lines[MAX_LINES + 1] == "……另有 3 人，请在控制台查看。"
    assert lines[-1].startswith("可回复“今日”")
    assert sorted(digest.params["student_ids"]) == sorted(ids)


def test_the_parent_alert_carries_the_student_for_the_send_time_check(
    engine, student, session, sweep
):
    check_in(session, student, date(2026, 2, 28))
    sweep(MON, 11, 0)
    sweep(date(2026, 3, 3), 11, 0)
    [alert] = rows(engine, "parent_alert")
    assert alert.params["student_id"] == student
    # The fields of its template message (SPEC section 9).
    assert alert.params["date"] == "2026-03-03"
    assert alert.params["summary"] == "连续2个工作日未签到"
    assert alert.params["student"] and alert.params["teacher"]
    assert "最近一次签到：2月28日（周六）" in alert.text
