"""The pure core: parametrised tables, no I/O."""
from __future__ import annotations

import pytest

from supportbot import core
from supportbot.core import DialogState, SeatLoad


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
    (None, DialogState.ACTIVE, True),
    (DialogState.QUEUED, DialogState.ACTIVE, True),
    (DialogState.ACTIVE, DialogState.QUEUED, True),
    (DialogState.ACTIVE, DialogState.CLOSED, True),
    (DialogState.QUEUED, DialogState.CLOSED, True),
    (DialogState.CLOSED, DialogState.ACTIVE, False),
    (DialogState.CLOSED, DialogState.QUEUED, False),
    (None, DialogState.CLOSED, False),
])
def test_transitions(old, new, allowed):
    if allowed:
        core.check_transition(old, new)
    else:
        with pytest.raises(core.InvalidTransition):
            core.check_transition(old, new)


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


@pytest.mark.parametrize("header, caption, expected", [
    ("Анна (#1):", None, ("Анна (#1):", False)),
    ("Анна (#1):", "фото", ("Анна (#1):\nфото", False)),
    ("Анна (#1):", "x" * 1020, ("x" * 1020, True)),
])
def test_relay_caption(header, caption, expected):
    assert core.relay_caption(header, caption) == expected


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


@pytest.mark.parametrize("count, limit, exceeded", [(20, 20, False), (21, 20, True), (1, 1, False), (2, 1, True)])
def test_flood_exceeded(count, limit, exceeded):
    assert core.flood_exceeded(count, limit) is exceeded


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
