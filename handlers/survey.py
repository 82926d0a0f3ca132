"""三方满意度: answer a pushed survey with digits 1-5, then a comment; 「问卷」 resumes it."""

from __future__ import annotations

from datetime import datetime

from bot.types import Reply
from core import surveys as sv
from core.intents import control_word, detect
from handlers.base import HANDLERS, Context, add_words, on_intent, on_state
from models.surveys import (
    SURVEY_STATE,
    Survey,
    count_open_surveys,
    finish_survey,
    next_open_survey,
    open_survey,
    record_score,
)

NONE_OPEN = (
    "您目前没有需要填写的问卷，谢谢关注。",
    "You have no survey to answer right now. Thank you.",
)
WRONG_ANSWER = (
    "请回复 1 到 5 之间的一个数字（{scale}）。也可以一次回复多个数字，用空格隔开。"
    "发送「取消」可稍后再答。\n{question}",
    "Please reply with one digit from 1 to 5 (1 = very dissatisfied, 5 = very satisfied), "
    'or several separated by spaces. Send "cancel" to answer later.\n{question}',
)
PAUSED = (
    "好的，问卷已暂停，已答的题目会保留。想继续时发送「问卷」即可。",
    'OK, the survey is paused and your answers are kept. Send "survey" to continue.',
)
THANKS = (
    "问卷已提交，您的平均评分为 {avg} 分。谢谢您的反馈，我们会认真改进！",
    "Survey submitted, your average score is {avg}. Thank you for your feedback!",
)
MORE = (
    "您还有 {n} 份问卷待填写，下面开始下一份：",
    "You have {n} more survey(s); here is the next one:",
)
REPORT_FIRST = (
    "问卷已暂停（发送「问卷」可继续）。先处理您反映的问题：",
    'The survey is paused (send "survey" to continue). First, your report:',
)

add_words({"问卷": ("survey", ""), "满意度": ("survey", ""), "/survey": ("survey", "")})


def _question(survey: Survey, index: int) -> str:
    if index >= len(survey.questions):
        return sv.COMMENT_QUESTION
    return sv.QUESTION.format(i=index + 1, n=len(survey.questions), q=survey.questions[index])


def _mine(ctx: Context, survey: Survey | None) -> bool:
    account = ctx.account
    return (
        survey is not None
        and account is not None
        and survey.respondent_kind == account.person_kind
        and survey.respondent_id == account.person_id
    )


def _start(ctx: Context, survey: Survey, *, lead: str = "") -> list[Reply]:
    """Put the sender into the survey dialog and ask where they left off."""
    ctx.set_state(SURVEY_STATE, {"survey": survey.id}, ttl=survey.expires_at - ctx.now)
    question = _question(survey, survey.next_question())
    if lead:
        return [Reply(f"{lead}\n{question}")]
    return [Reply(f"{sv.ROUND_NAMES[survey.round]}满意度调查（{sv.SCALE_HINT}）\n{question}")]


def _next_for(ctx: Context, now: datetime) -> Survey | None:
    account = ctx.account
    if account is None:
        return None
    return next_open_survey(
        ctx.session, person_kind=account.person_kind, person_id=account.person_id, now=now
    )


@on_intent("survey")
def resume(ctx: Context) -> list[Reply]:
    """Starts or resumes the oldest survey the sender can still answer."""
    survey = _next_for(ctx, ctx.now)
    if survey is None:
        return ctx.reply(NONE_OPEN)
    return _start(ctx, survey)


@on_state(SURVEY_STATE)
def answer(ctx: Context) -> list[Reply]:
    """Records a score (or the closing comment) and asks the next question."""
    state = ctx.state()
    survey = open_survey(ctx.session, survey_id=(state.data or {}).get("survey", 0), now=ctx.now)
    if not _mine(ctx, survey):
        ctx.clear_state()
        return resume(ctx)
    text = ctx.args
    index = survey.next_question()
    if index >= len(survey.questions):  # every score given: 取消 or 提交 just skip the comment
        return _finish(ctx, survey, "" if sv.is_skip(text) or control_word(text) else text)
    if control_word(text) == "cancel":
        ctx.clear_state()
        return ctx.reply(PAUSED)
    scores = sv.parse_scores(text, room=len(survey.questions) - index)
    if scores is None:
        return _not_a_score(ctx, survey, index)
    for offset, score in enumerate(scores):
        record_score(ctx.session, survey=survey, question=index + offset, score=score)
    return [Reply(_question(survey, survey.next_question()))]


def _not_a_score(ctx: Context, survey: Survey, index: int) -> list[Reply]:
    """A clear hint; but a complaint written mid-survey is handed to 维权, not swallowed."""
    intent, rest = detect(ctx.args, ctx.lang)
    if intent == "report" and ctx.role == "student" and "report" in HANDLERS:
        ctx.clear_state()
        ctx.intent, ctx.args = intent, rest
        replies = HANDLERS["report"].handler(ctx)
        return [Reply(ctx.say(REPORT_FIRST)), *replies]
    return ctx.reply(WRONG_ANSWER, scale=sv.SCALE_HINT, question=_question(survey, index))


def _finish(ctx: Context, survey: Survey, comment: str) -> list[Reply]:
    finish_survey(ctx.session, survey=survey, comment=comment.strip()[:1000], now=ctx.now)
    ctx.clear_state()
    avg = sv.average(survey.scores())
    replies = ctx.reply(THANKS, avg=f"{avg:.1f}" if avg is not None else "—")
    account = ctx.account
    left = count_open_surveys(
        ctx.session, person_kind=account.person_kind, person_id=account.person_id, now=ctx.now
    )
    following = _next_for(ctx, ctx.now)
    if following is not None:
        replies += _start(ctx, following, lead=ctx.say(MORE, n=left))
    return replies
