"""Acceptance: the rule book over a real imported roster, the daily sweep and its findings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from compliance_roster import HOLIDAY, ROWS, add_evidence, row, write_roster
from sched_helpers import at
from sqlmodel import select

from api.commands.roster import import_file
from core.settings import Settings
from models import ComplianceTally, Finding, OutboxMessage, Student
from scheduler.compliance import check_compliance, sweep_compliance

TODAY = date(2026, 3, 2)


@pytest.fixture
def cfg(settings) -> Settings:
    return settings.model_copy(
        update={
            "calendar": settings.calendar.model_copy(update={"holidays": [HOLIDAY]}),
            "compliance": settings.compliance.model_copy(update={"min_wage": {"贵阳市": 1890}}),
        }
    )


@pytest.fixture
def imported(cfg, engine, session, tmp_path):
    roster, _ = import_file(cfg, engine, write_roster(tmp_path / "roster.csv"))
    assert roster.errors == []
    add_evidence(session)
    return roster


def open_findings(session) -> dict[str, set[str]]:
    rows = session.execute(
        select(Student.student_no, Finding.rule)
        .join(Student, Student.id == Finding.student_id)
        .where(Finding.status == "open")
    ).all()
    out: dict[str, set[str]] = {}
    for no, rule in rows:
        out.setdefault(no, set()).add(rule)
    return out


def test_each_row_breaks_exactly_its_rule_and_near_misses_break_none(
    cfg, engine, session, imported
):
    check_compliance(session, cfg, at(TODAY, 6, 30))
    session.commit()
    found = open_findings(session)
    for no, rule, _ in ROWS:
        assert found.get(no, set()) == ({rule} if rule else set()), no


def test_a_configured_holiday_check_in_is_holiday_work_with_its_evidence(
    cfg, engine, session, imported
):
    check_compliance(session, cfg, at(TODAY, 6, 30))
    session.commit()
    finding = session.exec(select(Finding).where(Finding.rule == "holiday_work")).one()
    assert "2026-02-27" in finding.detail and finding.severity == "major"
    assert finding.evidence == ["2026-02-27 09:00（法定节假日）"]
    assert "第十七条" in finding.article


def test_running_the_check_twice_adds_nothing(cfg, engine, session, imported):
    first = check_compliance(session, cfg, at(TODAY, 6, 30))
    session.commit()
    before = session.exec(select(Finding)).all()
    outbox = len(session.exec(select(OutboxMessage)).all())
    again = check_compliance(session, cfg, at(TODAY, 7, 0))
    session.commit()
    session.expire_all()
    assert first["new"] == len(before) > 0
    assert again["new"] == again["resolved"] == again["reopened"] == again["notified"] == 0
    after = session.exec(select(Finding)).all()
    assert [(f.id, f.status, f.last_seen) for f in after] == [
        (f.id, f.status, f.last_seen) for f in before
    ]
    assert len(session.exec(select(OutboxMessage)).all()) == outbox


def test_the_scheduler_checks_once_a_day_at_check_at(cfg, engine, session, imported):
    assert sweep_compliance(session, cfg, at(TODAY, 6, 0)) == {}  # not yet
    assert sweep_compliance(session, cfg, at(TODAY, 6, 31))["new"] > 0
    session.commit()
    assert sweep_compliance(session, cfg, at(TODAY, 6, 32)) == {}  # claimed already


def test_a_fixed_row_closes_its_finding_and_a_waived_one_stays_waived(
    cfg, engine, session, imported, tmp_path
):
    check_compliance(session, cfg, at(TODAY, 6, 30))
    session.commit()
    waived = session.exec(select(Finding).where(Finding.rule == "no_insurance")).one()
    waived.status, waived.note, waived.waived_by = "waived", "保险单已线下核实", "admin"
    session.add(waived)
    session.commit()
    fixed = [(no, rule, {**changes, "agreement_signed": "是"}) for no, rule, changes in ROWS]
    fixed = [r for r in fixed if r[0] in ("C11", "C13")]
    import_file(cfg, engine, write_roster(tmp_path / "fixed.csv", fixed))
    tomorrow = TODAY + timedelta(days=1)
    counts = check_compliance(session, cfg, at(tomorrow, 6, 30))
    session.commit()
    session.expire_all()
    agreement = session.exec(select(Finding).where(Finding.rule == "no_agreement")).one()
    assert agreement.status == "resolved" and agreement.resolved_at is not None
    assert counts["resolved"] == 1
    insurance = session.get(Finding, waived.id)
    assert (insurance.status, insurance.note, insurance.waived_by) == (
        "waived",
        "保险单已线下核实",
        "admin",
    )
    assert insurance.last_seen == tomorrow


def test_teachers_hear_of_new_critical_findings_once(cfg, engine, session, imported):
    from factories import bind

    teacher_id = session.exec(select(Student.teacher_id)).first()
    bind(session, person_kind="teacher", person_id=teacher_id, external_id="t-1")
    session.commit()
    check_compliance(session, cfg, at(TODAY, 6, 30))
    session.commit()
    messages = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "compliance")).all()
    assert len(messages) == 1
    text = messages[0].text
    assert "学生C11" in text and "未签三方协议" in text  # critical
    assert "学生C13" not in text  # no_insurance is major: the page and weekly summary only
    check_compliance(session, cfg, at(TODAY + timedelta(days=1), 6, 30))
    session.commit()
    assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_tallies_count_open_and_unknown_per_school(cfg, engine, session, imported):
    check_compliance(session, cfg, at(TODAY, 6, 30))
    session.commit()
    tallies = {t.rule: t for t in session.exec(select(ComplianceTally))}
    total = tallies["*"]
    assert total.placements == len(ROWS)
    assert total.open == len({no for no, rule, _ in ROWS if rule})
    assert tallies["no_agreement"].unknown == 1 and tallies["no_insurance"].unknown == 1
    assert total.unknown == 2


def test_a_row_is_only_as_wrong_as_its_data(cfg):
    """The base row itself is compliant (a guard for the table above)."""
    assert row("X", {})["agreement_signed"] == "是"


def test_new_findings_are_inserted_with_their_key_checks_planned_once(
    cfg, engine, session, imported
):
    """PostgreSQL: the INSERT of the new findings (four foreign keys each) runs under the
    default plan mode, where PostgreSQL's per-row key checks keep their plans, and the
    session's force_custom_plan is set back right after (models.db.CACHED_PLANS)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    from sqlalchemy import event

    from models.db import CACHED_PLANS, PLAN_EACH

    sent: list[str] = []
    listen = lambda conn, cursor, statement, *args: sent.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        assert check_compliance(session, cfg, at(TODAY, 6, 30))["new"] > 0
        session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    (i,) = [i for i, s in enumerate(sent) if s.startswith("INSERT INTO findings ")]
    assert (sent[i - 1], sent[i + 1]) == (CACHED_PLANS, PLAN_EACH)
