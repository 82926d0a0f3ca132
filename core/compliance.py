"""The rule book (SPEC section 12): every rule's id, article, severity, explanation and check.

Each check is a pure function of a placement's facts, its check-ins (local times, the lookback
window) and its tickets; missing data answers "unknown", never a violation. Articles cite
《职业学校学生实习管理规定》(教职成〔2021〕4号) unless they name another text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from core.compliance_facts import (
    CRITICAL,
    MAJOR,
    Checkin,
    Context,
    Facts,
    TicketFact,
    Verdict,
    add_years,
    by_day,
    days_per_week,
    hm,
    hours,
    is_minor_on,
    is_night,
    matched,
    min_wage_of,
    ok,
    shift_at_night,
    shift_minutes,
    stamp,
    unknown,
    violation,
    worked_minutes,
)

REG = "《职业学校学生实习管理规定》"
Check = Callable[[Facts, Sequence[Checkin], Sequence[TicketFact], Context], Verdict]
NO_BIRTH = "缺少出生日期"


@dataclass(frozen=True)
class Rule:
    id: str
    article: str
    severity: str
    title: str  # a few words for lists
    explain: str  # one line for the compliance page
    check: Check
    reads: tuple[str, ...] = ("placement",)  # placement | checkins | tickets


def under_16(f: Facts, _c, _t, ctx: Context) -> Verdict:
    if f.birth_date is None:
        return unknown(NO_BIRTH)
    sixteen = add_years(f.birth_date, ctx.cfg.min_age)
    if f.start_date < sixteen:
        return violation(
            f"出生于 {f.birth_date}，{f.start_date} 开始实习时未满 {ctx.cfg.min_age} 周岁"
            f"（{sixteen} 满 {ctx.cfg.min_age} 周岁）"
        )
    return ok()


def first_year(f: Facts, _c, _t, _ctx) -> Verdict:
    if f.grade is None:
        return unknown("缺少年级")
    return violation("一年级学生安排岗位实习") if f.grade == 1 else ok()


def banned_venue(f: Facts, _c, _t, ctx: Context) -> Verdict:
    words = matched(ctx.cfg.banned_venues, f.company, f.industry, f.position)
    if words:
        return violation(
            f"实习单位“{f.company}”（{f.industry or '行业未填'}，{f.position or '岗位未填'}）"
            f"属于营业性娱乐场所：{'、'.join(words)}"
        )
    return ok()


def intermediary(f: Facts, _c, _t, _ctx) -> Verdict:
    if f.arranged_by == "agency":
        return violation("通过中介机构或有偿代理安排实习")
    if f.arranged_by is None and not f.arranged_by_school:
        return unknown("缺少安排方式")
    return ok()


def minor_banned_work(f: Facts, _c, _t, ctx: Context) -> Verdict:
    if f.birth_date is None:
        return unknown(NO_BIRTH)
    if not is_minor_on(f.birth_date, ctx.today, ctx.cfg):
        return ok()
    words = matched(ctx.cfg.minor_banned_work, f.industry, f.position)
    if words:
        return violation(
            f"未满 {ctx.cfg.adult_age} 周岁（出生于 {f.birth_date}），岗位“{f.position}”"
            f"（{f.industry}）属未成年工禁忌劳动：{'、'.join(words)}"
        )
    return ok()


def no_agreement(f: Facts, _c, _t, _ctx) -> Verdict:
    if f.agreement_signed is None:
        return unknown("花名册未填三方协议")
    return ok() if f.agreement_signed else violation("未签订三方实习协议")


def no_insurance(f: Facts, _c, _t, _ctx) -> Verdict:
    if f.insured is None:
        return unknown("花名册未填实习保险")
    return ok() if f.insured else violation("未投保实习责任保险")


def no_guardian_consent(f: Facts, _c, _t, ctx: Context) -> Verdict:
    if f.birth_date is None:
        return unknown(NO_BIRTH)
    if not is_minor_on(f.birth_date, f.start_date, ctx.cfg):
        return ok()
    if f.guardian_consent is None:
        return unknown("未成年学生，花名册未填监护人知情同意")
    if f.guardian_consent:
        return ok()
    return violation(f"开始实习时未满 {ctx.cfg.adult_age} 周岁，没有监护人签字的知情同意书")


def low_pay(f: Facts, _c, _t, ctx: Context) -> Verdict:
    if f.monthly_salary is None:
        return unknown("缺少月薪")
    floor = min_wage_of(f.city, ctx.cfg)
    if f.post_wage is None and floor is None:
        return unknown("缺少同岗工资，所在城市的最低工资标准也未配置")
    problems = []
    if f.post_wage is not None:
        least = round(f.post_wage * ctx.cfg.pay_ratio, 2)
        if f.monthly_salary < least:
            share = f.monthly_salary / f.post_wage if f.post_wage else 0
            problems.append(
                f"月薪 {f.monthly_salary} 元，为同岗工资 {f.post_wage} 元的 {share:.0%}"
                f"（不低于 {ctx.cfg.pay_ratio:.0%}，即 {least:g} 元）"
            )
    if floor is not None and f.monthly_salary < floor:
        problems.append(f"月薪 {f.monthly_salary} 元，低于{f.city}最低工资标准 {floor} 元")
    return violation("；".join(problems)) if problems else ok()


def night_work(f: Facts, checkins: Sequence[Checkin], _t, ctx: Context) -> Verdict:
    cfg = ctx.cfg
    night = [c for c in checkins if c.day >= ctx.since and is_night(c.at.time(), cfg)]
    parts = []
    if shift_at_night(f, cfg):
        parts.append(f"班次 {hm(f.shift_start)}–{hm(f.shift_end)} 进入夜间（{hm(cfg.night_start)}"
                     f"–{hm(cfg.night_end)}）")  # fmt: skip
    if night:
        parts.append(f"近 {cfg.lookback_days} 天有 {len(night)} 次夜间签到")
    if not parts:
        return ok()
    return violation("；".join(parts), [f"夜间签到 {stamp(c)}" for c in night])


def overtime(f: Facts, checkins: Sequence[Checkin], _t, ctx: Context) -> Verdict:
    cfg = ctx.cfg
    day_max, week_max = cfg.max_day_hours * 60, cfg.max_week_hours * 60
    parts, evidence = [], []
    shift = max(0, shift_minutes(f.shift_start, f.shift_end) - cfg.break_minutes)
    week = shift * days_per_week(f.workdays_mask)
    if shift > day_max:
        parts.append(f"班次 {hm(f.shift_start)}–{hm(f.shift_end)} 扣除用餐 {cfg.break_minutes} "
                     f"分钟后每天 {hours(shift)} 小时")  # fmt: skip
    if week > week_max:
        parts.append(f"排班每周 {days_per_week(f.workdays_mask)} 天，共 {hours(week)} 小时")
    weeks: dict[tuple[int, int], int] = {}
    long_days = 0
    for day, items in sorted(by_day(checkins).items()):
        if day < ctx.since or len(items) < 2:
            continue
        minutes = worked_minutes(items[0].at, items[-1].at, cfg)
        iso = day.isocalendar()
        weeks[(iso.year, iso.week)] = weeks.get((iso.year, iso.week), 0) + minutes
        if minutes > day_max:
            long_days += 1
            evidence.append(f"{day} 签到 {hm(items[0].at)}–{hm(items[-1].at)}，"
                            f"计 {hours(minutes)} 小时")  # fmt: skip
    if long_days:
        parts.append(f"近 {cfg.lookback_days} 天有 {long_days} 天签到时长超过 "
                     f"{hours(day_max)} 小时")  # fmt: skip
    for (year, number), minutes in sorted(weeks.items()):
        if minutes > week_max:
            parts.append(f"{year} 年第 {number} 周签到时长共 {hours(minutes)} 小时")
    return violation("；".join(parts), evidence) if parts else ok()


def holiday_work(_f, checkins: Sequence[Checkin], _t, ctx: Context) -> Verdict:
    seen = [c for c in checkins if c.day >= ctx.since and ctx.holiday(c.day) is not None]
    if not seen:
        return ok()
    days = sorted({c.day for c in seen})
    names = [ctx.holiday(d) or "法定节假日" for d in days]
    evidence = [f"{stamp(c)}（{ctx.holiday(c.day) or '法定节假日'}）" for c in seen]
    listed = "、".join(f"{d}（{n}）" for d, n in zip(days, names, strict=True))
    return violation(f"法定节假日签到上班：{listed}", evidence)


def no_rest_day(f: Facts, checkins: Sequence[Checkin], _t, ctx: Context) -> Verdict:
    limit = ctx.cfg.max_consecutive_days
    if days_per_week(f.workdays_mask) >= 7:
        return violation("排班每周工作 7 天，没有休息日")
    days = sorted({c.day for c in checkins if c.day >= ctx.since})
    run_start, longest, best = None, 0, None
    for i, day in enumerate(days):
        if i == 0 or day - days[i - 1] != timedelta(days=1):
            run_start = day
        length = (day - run_start).days + 1
        if length > longest:
            longest, best = length, (run_start, day)
    if longest > limit:
        start, end = best
        return violation(f"{start} 至 {end} 连续 {longest} 天签到上班，没有休息日")
    return ok()


def intern_ratio(f: Facts, _c, _t, ctx: Context) -> Verdict:
    if f.company_headcount is None and f.post_headcount is None:
        return unknown("缺少单位职工人数和同岗人数")
    parts = []
    staff, post = f.company_headcount, f.post_headcount
    interns, at_post = f.interns_at_company, f.interns_at_post
    if staff and interns > staff * ctx.cfg.company_ratio:
        parts.append(f"单位在岗职工 {staff} 人，实习生 {interns} 人"
                     f"（{interns / staff:.0%}，上限 {ctx.cfg.company_ratio:.0%}）")  # fmt: skip
    if post and at_post > post * ctx.cfg.post_ratio:
        parts.append(f"岗位“{f.position}”在岗职工 {post} 人，实习生 {at_post} 人"
                     f"（{at_post / post:.0%}，上限 {ctx.cfg.post_ratio:.0%}）")  # fmt: skip
    return violation("；".join(parts)) if parts else ok()


def fees_or_deposit(_f, _c, tickets: Sequence[TicketFact], ctx: Context) -> Verdict:
    hits = []
    for t in tickets:
        words = matched(ctx.cfg.fee_words, t.text)
        current = not t.resolved or t.created >= ctx.since
        if current and (t.category == "fees" or words):
            hits.append((t, words))
    if not hits:
        return ok()
    evidence = [f"工单 #{t.id}（{t.created}）：{t.text[:60]}" for t, _ in hits]
    words = sorted({w for _, ws in hits for w in ws})
    about = f"，涉及{'、'.join(words)}" if words else ""
    return violation(f"{len(hits)} 张工单反映收费、押金或扣押证件{about}", evidence)


# Articles as the 2021 text (教职成〔2021〕4号) numbers them: 第九条 the consent, 第十条 the
# intern ratio (the 2016 text had the ratio in 第九条; provincial 实施细则 keep the 2021 order).
RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("under_16", f"{REG}第十六条第（二）项", CRITICAL, "未满16周岁",
             "不得安排、接收未满16周岁的学生岗位实习。", under_16),
        Rule("first_year", f"{REG}第十六条第（一）项", CRITICAL, "一年级学生",
             "不得安排、接收一年级在校学生岗位实习。", first_year),
        Rule("banned_venue", f"{REG}第十六条第（五）项", CRITICAL, "娱乐场所",
             "不得安排学生到酒吧、夜总会、歌厅、洗浴中心、电子游戏厅、网吧等营业性娱乐场所实习。",
             banned_venue),
        Rule("intermediary", f"{REG}第十六条第（六）项", CRITICAL, "中介安排",
             "不得通过中介机构或有偿代理组织、安排和管理学生实习。", intermediary),
        Rule("minor_banned_work", f"{REG}第十六条第（三）项；《未成年工特殊保护规定》第三条",
             CRITICAL, "未成年人禁忌劳动",
             "不得安排未成年学生从事井下、高处、有毒、放射性、爆破、锅炉、重体力等禁忌劳动。",
             minor_banned_work),
        Rule("no_agreement", f"{REG}第十二条", CRITICAL, "未签三方协议",
             "岗位实习前学校、实习单位、学生三方须签订实习协议，无协议不实习。", no_agreement),
        Rule("no_insurance", f"{REG}第三十五条", MAJOR, "未投实习保险",
             "职业学校和实习单位应为实习学生投保实习责任保险。", no_insurance),
        Rule("no_guardian_consent", f"{REG}第九条", MAJOR, "无监护人知情同意",
             "安排岗位实习应取得学生及其法定监护人签字的知情同意书，未成年学生尤须如此。",
             no_guardian_consent),
        Rule("low_pay", f"{REG}第十八条", MAJOR, "报酬过低",
             "实习报酬原则上不低于本单位相同岗位工资标准的80%或最低档工资标准。", low_pay),
        Rule("night_work", f"{REG}第十七条第（三）项", MAJOR, "夜班",
             "不得安排学生上夜班（22:00至次日06:00）。", night_work, ("placement", "checkins")),
        Rule("overtime", f"{REG}第十七条第（三）项；《劳动法》第三十六条", MAJOR, "超时加班",
             "不得安排学生加班：每天不超过8小时、每周不超过40小时（扣除用餐时间）。",
             overtime, ("placement", "checkins")),
        Rule("holiday_work", f"{REG}第十七条第（二）项", MAJOR, "节假日上班",
             "不得安排学生在法定节假日实习。", holiday_work, ("checkins",)),
        Rule("no_rest_day", f"{REG}第十七条；《劳动法》第三十八条", MAJOR, "无休息日",
             "应保证学生每周至少休息一日。", no_rest_day, ("placement", "checkins")),
        Rule("intern_ratio", f"{REG}第十条", MAJOR, "实习生比例过高",
             "岗位实习学生不超过单位在岗职工总数的10%，具体岗位不超过同类岗位在岗职工的20%。",
             intern_ratio),
        Rule("fees_or_deposit", f"{REG}第十九条", CRITICAL, "收费押金扣证",
             "不得向学生收取押金、培训费、管理费等费用，不得扣押学生证、身份证等证件。",
             fees_or_deposit, ("tickets",)),
    )
}  # fmt: skip
SEVERITY_NAMES = {CRITICAL: "严重", MAJOR: "一般"}


def evaluate(
    facts: Facts,
    checkins: Sequence[Checkin],
    tickets: Sequence[TicketFact],
    ctx: Context,
    rules: Sequence[str] | None = None,
) -> dict[str, Verdict]:
    """Every rule's verdict for one placement (or only the named rules)."""
    return {
        rule_id: RULES[rule_id].check(facts, checkins, tickets, ctx) for rule_id in (rules or RULES)
    }
