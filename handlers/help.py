"""帮助 and 取消: the menu for the sender's role, and leaving whatever dialog is under way."""

from __future__ import annotations

from bot.types import Reply
from handlers.base import Context, on_intent

MENUS = {
    "student": (
        "实习助手可以帮您：\n"
        "· 签到：到岗后发送位置（第一次为上班，之后为下班）\n"
        "· 日志：发送「日报」「周记」「月报」或「总结」，写完后发送「提交」\n"
        "· 维权：发送「维权」「反馈」或「求助」加上问题描述\n"
        "· 状态：发送「状态」或「我的」\n"
        "· 补卡：发送「补卡 日期 理由」，例如：补卡 3月2日 手机没电\n"
        "· 取消当前操作：「取消」；解除绑定：「解绑」",
        "Here is what I can do for you:\n"
        "· Check in: send your location at work (first = start, later = end)\n"
        "· Journal: /journal (daily, weekly, monthly, summary), then the text, then /submit\n"
        "· Report a problem: /report and a description\n"
        "· Status: /status\n"
        "· Make-up check-in: /makeup 2026-03-02 <reason>\n"
        "· /cancel stops what you are doing; /unbind unlinks this chat",
    ),
    "teacher": (
        "指导教师可以：\n"
        "· 「今日」：今天未签到、超出范围、迟到的学生\n"
        "· 「学生 姓名」：某位学生本周的签到\n"
        "· 「待办」：待批阅的日志、未结的工单和预警、待批的请假和补卡\n"
        "· 「批阅」：待批阅的日志；「批阅 日志编号」：查看全文\n"
        "· 「批阅 日志编号 分数 评语」：批阅日志\n"
        "· 「处理 编号 说明」：处理反馈或预警\n"
        "· 「补卡」：查看待审批补卡；「批准补卡 编号」或「驳回补卡 编号 理由」\n"
        "· 「状态」；「取消」；「解绑」",
        "As a teacher you can:\n"
        "· /today: students missing, out of range or late today\n"
        "· /student <name>: one student's week\n"
        "· /todo: what waits on you; /grade: journals waiting; /grade <no>: read one\n"
        "· /grade <journal no> <score> <comment>\n"
        "· /handle <no> <note>: handle a report or alert\n"
        "· /makeup: pending make-up requests; /makeup approve <no>; /makeup refuse <no> <reason>\n"
        "· /status; /cancel; /unbind",
    ),
    "parent": (
        "家长可以：\n"
        "· 「状态」：孩子本周的签到情况\n"
        "· 「解绑」：解除绑定\n"
        "孩子连续未签到时，我们会主动通知您。",
        "As a parent you can:\n"
        "· /status: your child's check-ins this week\n"
        "· /unbind: unlink this chat\n"
        "We will tell you if your child misses check-ins for several days.",
    ),
    "mentor": (
        "企业导师可以：\n"
        "· 「今日」：您指导的实习生今天的签到情况\n"
        "· 「批阅」：待批阅的日志；「批阅 日志编号」：查看全文\n"
        "· 「批阅 日志编号 分数 评语」：批阅日志\n"
        "· 「待办」；「解绑」\n"
        "实习生提交日志时，我们会通知您。",
        "As a company mentor you can:\n"
        "· /today: your interns' check-ins today\n"
        "· /grade: journals waiting; /grade <no>: read one; /grade <no> <score> <comment>\n"
        "· /todo; /unbind\n"
        "We tell you when an intern submits a journal.",
    ),
    "school_admin": (
        "学校管理员可以：\n"
        "· 「待办」：全校未结的工单和预警、待批阅的日志\n"
        "· 「处理 编号 说明」：处理工单（T 开头）或预警（A 开头）\n"
        "· 「批阅 日志编号 分数 评语」：批阅日志\n"
        "· 「解绑」\n"
        "学生失联预警和升级的工单会发到这里。",
        "As a school admin you can:\n"
        "· /todo: open tickets and alerts of the school, journals waiting\n"
        "· /handle <no> <note>: a ticket (T...) or an alert (A...)\n"
        "· /grade <journal no> <score> <comment>\n"
        "· /unbind\n"
        "Lost-contact alerts and escalated tickets come here.",
    ),
}
OTHER_MENU = (
    "您可以发送「状态」查看绑定信息，或发送「解绑」解除绑定。",
    "Send /status to see your link, or /unbind to unlink.",
)
NOT_UNDERSTOOD = ("抱歉，没看懂这句话。", "Sorry, I did not understand that.")
CANCELLED = ("已取消当前操作。", "Cancelled.")
NOTHING_TO_CANCEL = (
    "当前没有进行中的操作，无需取消。发送「帮助」查看可以做的事。",
    "There is nothing to cancel. Send /help to see what I can do.",
)


def menu(ctx: Context) -> str:
    return ctx.say(MENUS.get(ctx.role or "", OTHER_MENU))


@on_intent("help")
def help_menu(ctx: Context) -> list[Reply]:
    """Shows the menu for the sender's role; unrecognised messages land here too."""
    text = menu(ctx)
    if ctx.intent is None and ctx.text:
        text = ctx.say(NOT_UNDERSTOOD) + "\n" + text
    return [Reply(text, ask_location=ctx.role == "student")]


@on_intent("cancel")
def cancel(ctx: Context) -> list[Reply]:
    """Leaves the current dialog (journal draft, report, make-up ...) if there is one."""
    if ctx.state() is None:
        return ctx.reply(NOTHING_TO_CANCEL)
    ctx.clear_state()
    return ctx.reply(CANCELLED)
