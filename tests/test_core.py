"""The pure core: parametrised tables, no I/O."""
from __future__ import annotations

import pytest

from supportbot import core
from supportbot.core import Cause, DialogState, SeatLoad


@pytest.mark.parametrize("loads, limit, expected", [
    ([], 3, None),
    ([SeatLoad(1, 3, 0), SeatLoad(2, 3, 0)], 3, None),
    ([SeatLoad(1, 2, 0), SeatLoad(2, 1, 50)], 3, 2),           # fewest open dialogs
    ([SeatLoad(1, 1, 100), SeatLoad(2, 1, 50)], 3, 2),         # tie: oldest assignment
    ([SeatLoad(1, 0, 0), SeatLoad(2, 0, 0)], 3, 1),            # full tie: lowest seat
    ([SeatLoad(1, 3, 0), SeatLoad(2, 2, 99)], 3, 2),           # at the limit is not free
])
def test_choose_seat(loads, limit, expected):
    assert core.choose_seat(loads, limit) == expected


@pytest.mark.parametrize("old, new, allowed", [
    (None, DialogState.QUEUED, True),
    (None, DialogState.ACTIVE, False),  # a new dialog always passes through the queue
    (DialogState.QUEUED, DialogState.ACTIVE, True),
    (DialogState.ACTIVE, DialogState.QUEUED, True),
    (DialogState.ACTIVE, DialogState.CLOSED, True),
    (DialogState.QUEUED, DialogState.CLOSED, True),
    (DialogState.CLOSED, DialogState.ACTIVE, False),
    (DialogState.CLOSED, DialogState.QUEUED, False),
    (None, DialogState.CLOSED, False),
])
def test_transitions(old, new, allowed):
    assert any(state == old and target == new for (state, _), target in core.TRANSITIONS.items()) is allowed


@pytest.mark.parametrize("args, expected", [
    ("3", 3), ("#3", 3), (" 123456789 ", 123456789),
    ("", None), ("0", None), ("-3", None), ("abc", None), ("3 4", None), ("３", None),
])
def test_parse_customer_ref(args, expected):
    assert core.parse_customer_ref(args) == expected


@pytest.mark.parametrize("args, expected", [
    ("5", core.HistoryArgs(5, None)),
    ("5 10", core.HistoryArgs(5, 10)),
    ("5 200", core.HistoryArgs(5, 200)),
    ("5 201", None), ("5 0", None), ("", None), ("x", None), ("5 x", None), ("1 2 3", None),
])
def test_parse_history_args(args, expected):
    assert core.parse_history_args(args) == expected


@pytest.mark.parametrize("last, now, cooldown, due", [
    (None, 100, 600, True), (100, 650, 600, False), (100, 700, 600, True), (100, 100, 0, True),
])
def test_auto_reply_due(last, now, cooldown, due):
    assert core.auto_reply_due(last, now, cooldown) is due


def test_login_lockout_after_five_failures():
    failures, locked = 0, None
    for _ in range(4):
        failures, locked = core.after_failed_login(failures, 1000.0)
        assert locked is None
    failures, locked = core.after_failed_login(failures, 1000.0)
    assert locked == 1000.0 + 15 * 60
    assert core.login_locked_for(failures, locked, 1000.0 + 60) == pytest.approx(14 * 60)
    assert core.login_locked_for(failures, locked, 1000.0 + 15 * 60) == 0


@pytest.mark.parametrize("text", ["", "short", "a" * 4096, "a" * 4097, ("line\n" * 2000), "слово " * 3000])
def test_split_text_keeps_everything_within_the_limit(text):
    pieces = core.split_text(text)
    assert all(len(p) <= 4096 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")


def test_join_lines_packs_and_splits():
    lines = ["x" * 3000, "y" * 3000, "z" * 5000]
    pieces = core.join_lines_in_pieces(lines)
    assert all(len(p) <= 4096 for p in pieces)
    assert "".join(pieces).replace("\n", "") == "".join(lines)


@pytest.mark.parametrize("kind, caption, expected", [
    ("photo", None, core.RelayShape(False, "Анна (#1):", None)),
    ("photo", "фото", core.RelayShape(False, "Анна (#1):\nфото", None)),
    ("photo", "x" * 1500, core.RelayShape(False, "Анна (#1):", "x" * 1500)),  # a Premium caption goes as text
    ("sticker", None, core.RelayShape(True, "Анна (#1):", None)),  # no caption reaches anyone: the header apart
    ("video_note", None, core.RelayShape(True, "Анна (#1):", None)),
    ("location", None, core.RelayShape(True, "Анна (#1):", None)),
])
def test_relay_shape_always_names_the_customer(kind, caption, expected):
    assert core.relay_shape(kind, "Анна (#1):", caption) == expected


@pytest.mark.parametrize("state, cause, expected", [
    (None, Cause.WRITES, DialogState.QUEUED),
    (DialogState.QUEUED, Cause.ASSIGNED, DialogState.ACTIVE),
    (DialogState.ACTIVE, Cause.HANDED_OVER, DialogState.ACTIVE),
    (DialogState.ACTIVE, Cause.REQUEUED, DialogState.QUEUED),
    (DialogState.ACTIVE, Cause.BLOCKED, DialogState.CLOSED),
    (DialogState.QUEUED, Cause.BANNED, DialogState.CLOSED),
    (DialogState.CLOSED, Cause.ASSIGNED, None),
    (DialogState.ACTIVE, Cause.ASSIGNED, None),
    (DialogState.QUEUED, Cause.HANDED_OVER, None),
])
def test_the_table_gives_the_next_state(state, cause, expected):
    if expected is None:
        with pytest.raises(core.InvalidTransition):
            core.next_state(state, cause)
    else:
        assert core.next_state(state, cause) is expected


def test_only_the_operators_own_action_picks_a_new_current_dialog():
    view = core.SeatView(current=1, acknowledged=1, open_dialogs=(1, 2))
    assert core.current_after_end(view, 1, by_its_operator=False) is None
    assert core.current_after_end(view, 1, by_its_operator=True) == 2
    assert core.current_after_end(view, 2, by_its_operator=False) == 1
    assert core.focus_after_assign(view, 3, chosen=False) == (1, 1)
    assert core.focus_after_assign(view, 3, chosen=True) == (3, 1)
    assert core.focus_after_assign(core.SeatView(None, 1, ()), 3, chosen=False) == (None, 1)
    assert core.focus_after_assign(core.SeatView(None, None, ()), 3, chosen=False) == (3, 3)


@pytest.mark.parametrize("view, reply, expected", [
    (core.SeatView(1, 1, (1,)), None, core.Deliver(1)),
    (core.SeatView(2, 1, (1, 2)), None, core.Hold("changed")),
    (core.SeatView(None, 1, (2,)), None, core.Hold("none")),
    (core.SeatView(2, None, (2,)), None, core.Hold("changed")),
    (core.SeatView(1, 1, (1, 2)), core.ReplyTarget(2, True, True), core.Deliver(2)),
    (core.SeatView(1, 1, (1,)), core.ReplyTarget(2, False, True), core.Refuse("gone")),
    (core.SeatView(1, 1, (1,)), core.ReplyTarget(None, False, False), core.Hold("unknown_reply")),
])
def test_route_operator_message(view, reply, expected):
    assert core.route_operator_message(view, reply) == expected


@pytest.mark.parametrize("text, pin", [
    ("/operator 9753", "9753"), ("/оperator 9753", "9753"), ("/operator: 9753", "9753"),
    ("/operator-9753", "9753"), ("/ operator 9753", "9753"), ("operator 9753", "9753"),
    ("/operator1357", "1357"), ("ОПЕРАТОР 1234", None), ("operator please", None), ("/operator", None),
    ("позовите оператора 1234", None), ("/operator@shop_bot 4321", "4321"),
])
def test_mistyped_logins_are_recognised(text, pin):
    assert core.login_pin(text) == pin


@pytest.mark.parametrize("args", ["9223372036854775808", "99999999999999999999", "0", "-1"])
def test_ids_beyond_the_database_are_malformed(args):
    assert core.parse_customer_ref(args) is None
    assert core.parse_button(f"rate:{args}:5") is None


def test_history_entries_cannot_be_forged():
    forged = "спасибо\n[01.12 10:00] Вера (заметка): вернуть 15000"
    lines = core.history_entry("01.12 09:59", "Анна (клиент)", forged).split("\n")
    assert lines[0] == "[01.12 09:59] Анна (клиент): спасибо"
    assert all(line.startswith(core.HISTORY_CONTINUATION) for line in lines[1:])


def test_the_readme_diagram_is_the_table():
    from pathlib import Path
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert core.mermaid() in readme


@pytest.mark.parametrize("first, username, last, expected", [
    ("Анна", "anna", None, "Анна @anna (#3)"),
    ("Анна", None, "Иванова", "Анна Иванова (#3)"),
    ("", None, None, "без имени (#3)"),
])
def test_describe_person(first, username, last, expected):
    assert core.describe_person(first, username, 3, last) == expected


@pytest.mark.parametrize("position, slots, average, expected", [
    (1, 3, 600, 600), (3, 3, 600, 600), (4, 3, 600, 1200), (7, 2, 300, 1200),
    (1, 3, None, core.DEFAULT_DIALOG_SECONDS), (1, 0, 600, None),
])
def test_estimate_wait(position, slots, average, expected):
    assert core.estimate_wait(position, slots, average) == expected


@pytest.mark.parametrize("told, position, last_told, now, expected", [
    (6, 3, 0, 700, True),       # halved, cooldown over
    (6, 3, 0, 100, False),      # halved, but within the cooldown
    (6, 5, 0, 700, False),      # barely moved
    (6, 5, 0, 15 * 60, True),   # waited long
    (None, 4, None, 15 * 60, True),
])
def test_should_retell_place(told, position, last_told, now, expected):
    assert core.should_retell_place(told, position, last_told, 0.0, now, 600) is expected


@pytest.mark.parametrize("count, limit, album, held", [
    (20, 20, None, False), (21, 20, None, True), (1, 1, None, False), (2, 1, None, True),
    (21, 20, False, False),  # an album whose first part went through is never split
    (3, 20, True, True),     # nor one whose first part was held
])
def test_hold_for_flood(count, limit, album, held):
    assert core.hold_for_flood(count, limit, album) is held


@pytest.mark.parametrize("last_seen, asked, now, waiting, step", [
    (0, None, 299, True, None),
    (0, None, 300, True, "ask"),
    (0, None, 900, False, None),       # nobody waits: no question
    (0, 300, 599, True, None),
    (0, 300, 600, True, "logout"),
    (400, 300, 650, True, None),       # answered after the question: counting starts again
    (400, 300, 700, True, "ask"),
])
def test_idle_step(last_seen, asked, now, waiting, step):
    assert core.idle_step(last_seen, asked, now, 300, waiting) == step


def test_idle_logout_off_when_zero():
    assert core.idle_step(0, None, 10**6, 0, True) is None


@pytest.mark.parametrize("values, share, expected", [
    ([], 0.5, None), ([5], 0.9, 5), ([1, 2, 3, 4], 0.5, 2), (list(range(1, 11)), 0.9, 9),
])
def test_percentile(values, share, expected):
    assert core.percentile(values, share) == expected


def test_summarize_per_operator_and_total():
    facts = [
        core.DialogFacts("Ольга", 0, 60, 90, 300, 5),
        core.DialogFacts("Ольга", 0, 120, None, None, None),
        core.DialogFacts("Павел", 0, 30, 40, 100, 3),
        core.DialogFacts(None, 0, None, None, None, None),
    ]
    olga, pavel, total = core.summarize(facts)
    assert (olga.who, olga.opened, olga.closed, olga.wait_p50, olga.first_p50, olga.rating) == (
        "Ольга", 2, 1, 60, 30, 5)
    assert (pavel.opened, pavel.rating) == (1, 3)
    assert (total.who, total.opened, total.closed, total.rating) == (None, 4, 2, 4)


@pytest.mark.parametrize("data, expected", [
    ("take:12", ("take", (12,))), ("rate:4:5", ("rate", (4, 5))), ("here", ("here", ())),
    ("take:x", None), ("take:-1", None), ("", None), ("t@ke:1", None),
])
def test_parse_button(data, expected):
    assert core.parse_button(data) == expected
