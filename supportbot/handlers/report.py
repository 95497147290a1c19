"""The daily report (at REPORT_TIME, to the operators on line and REPORT_CHAT_IDS) and /report.

The core says when it is due and computes the figures; this module loads the facts and words them.
The day it went out is kept in bot_state, so a restart does not send it twice.
"""
from __future__ import annotations

from .. import core, texts
from ..core import IncomingMessage, SendText
from ..faq.gaps import HistoryRow, find_gaps, group_questions
from .context import Context

SENT_KEY = "report_sent_day"
OUTAGE_KEY = "last_outage"  # "start:end" Unix seconds, written by the poller when the link comes back
BACKUP_FAILED_KEY = "backup_failed_at"
OUTAGE_WORTH_SAYING = 10 * 60
TOP_GAPS = 3


def tick(ctx: Context) -> None:
    """Send today's report once REPORT_TIME has come."""
    at = ctx.config.report_time
    if at is None:
        return
    local_now = ctx.local(ctx.now)
    if not core.report_due(local_now, at, ctx.tx.state(SENT_KEY)):
        return
    ctx.tx.set_state(SENT_KEY, local_now.date().isoformat())
    chats = [ctx.seats.chat_of(seat) for seat in sorted(ctx.seats.online)]
    chats += [chat for chat in ctx.config.report_chat_ids if chat not in chats]
    lines = report_lines(ctx, "today")
    for chat in chats:
        for piece in core.join_lines_in_pieces(lines):
            ctx.send(SendText(chat, piece))


def cmd_report(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    """/report [today|yesterday|week]: the report on demand."""
    period = msg.args.strip().lower() or "today"
    if period not in core.PERIODS:
        ctx.say(msg.chat_id, texts.REPORT_USAGE)
        return
    for piece in core.join_lines_in_pieces(report_lines(ctx, period)):
        ctx.send(SendText(msg.chat_id, piece))


def report_lines(ctx: Context, period: str) -> list[str]:
    """The report's lines for a period."""
    since, until = core.period_bounds(period, ctx.local(ctx.now))
    figures = core.report_figures(ctx.tx.dialog_facts(since), since, until)
    total = figures.total
    faq = ctx.tx.faq_event_counts(since)
    queued, unanswered = ctx.tx.still_waiting()
    lines = [texts.REPORT_HEAD.format(period=texts.REPORT_PERIODS[period]),
             texts.REPORT_DIALOGS.format(opened=total.opened, closed=total.closed, faq=faq.get("answered", 0)),
             texts.REPORT_WAIT.format(wait_p50=texts.seconds_text(total.wait_p50),
                                      wait_max=texts.seconds_text(figures.wait_max),
                                      first_p50=texts.seconds_text(total.first_p50)),
             texts.REPORT_NOW.format(queued=queued, unanswered=unanswered),
             texts.REPORT_RATING.format(rating=_rating(total.rating))]
    for line in figures.operators:
        lines.append(texts.REPORT_OPERATOR.format(who=line.who, opened=line.opened,
                                                  first_p50=texts.seconds_text(line.first_p50),
                                                  rating=_rating(line.rating)))
    rows = [HistoryRow(*row) for row in ctx.tx.text_history(since)]
    gaps = group_questions(find_gaps(rows, ctx.faq))[:TOP_GAPS]
    if gaps:
        lines.append(texts.REPORT_GAPS_HEAD)
        lines += [texts.REPORT_GAP.format(question=gap.question[:100], count=gap.count) for gap in gaps]
    lines += _troubles(ctx, since, until)
    return lines


def _rating(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "—"


def _troubles(ctx: Context, since: float, until: float) -> list[str]:
    """Say a long loss of Telegram and a failed backup in the period."""
    out = []
    outage = ctx.tx.state(OUTAGE_KEY)
    if outage:
        start, end = (float(part) for part in outage.split(":"))
        if end - start >= OUTAGE_WORTH_SAYING and start < until and end >= since:
            out.append(texts.REPORT_OUTAGE.format(minutes=texts.minutes_text(end - start),
                                                  start=ctx.local(start).strftime("%d.%m %H:%M")))
    failed = ctx.tx.state(BACKUP_FAILED_KEY)
    if failed and since <= float(failed) < until:
        out.append(texts.REPORT_BACKUP_FAILED.format(at=ctx.local(float(failed)).strftime("%d.%m %H:%M")))
    return out
