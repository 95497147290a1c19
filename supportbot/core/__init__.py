"""The pure core: what happens in the shop, with no I/O.

Nothing here imports telebot, sqlite3 or os.environ, reads a clock or a file: events come
in as plain dataclasses, decisions go out as values, and time is passed in. Handlers load
what a decision needs, ask the core, and apply the answer.

Modules: `events` (what comes in, what goes out), `dialogs` (states and the transition
table), `routing` (where an operator's words go, the current dialog), `login` (PINs),
`waiting` (seats, waits, flood, idle), `parsing` (ids and buttons), `text` (Telegram's
limits, captions, history), `stats`.
"""
from .dialogs import (ENDINGS, TRANSITIONS, Cause, DialogState, Ending, InvalidTransition, ending,
                      mermaid, next_state)
from .events import (Action, AnswerButton, ButtonPress, Buttons, CopyAlbum, CopyMessage, CreateTopic, DeleteMessage,
                     DeliveryFailure, EditMessage, EditTopic, Event, IncomingMessage, LeaveChat, MembershipChange,
                     Person, RemoveButtons, SendText, SetCommands, TopicRecreated)
from .login import (GLOBAL_MAX_FAILURES, GLOBAL_WINDOW_SECONDS, LOGIN_LOCK_SECONDS, LOGIN_MAX_FAILURES,
                    after_failed_login, login_attack_begins, login_closed_to_newcomers, login_locked_for, login_pin,
                    pin_fingerprint, pin_still_valid)
from .parsing import (HISTORY_MAX, ID_MAX, HistoryArgs, args_in_topic, parse_button, parse_customer_ref, parse_history_args,
                      parse_optional_ref)
from .routing import (Deliver, Hold, Refuse, ReplyTarget, Route, SeatView, TopicTarget, current_after_end, focus_after_assign,
                      edit_allowed, route_operator_message)
from .report import PERIODS, ReportFigures, period_bounds, report_due, report_figures
from .stats import DialogFacts, StatsLine, percentile, summarize
from .text import (CAPTION_LIMIT, HISTORY_CONTINUATION, NO_CAPTION, TEXT_LIMIT, RelayShape, describe_person,
                   history_entry, join_lines_in_pieces, relay_shape, split_text, wait_minutes)
from .waiting import (DEFAULT_DIALOG_SECONDS, PANEL_AWAY_SECONDS, SeatLoad, auto_reply_due, choose_seat, estimate_wait,
                      flood_over, hold_for_flood, idle_step, panel_seat_away, should_retell_place)
