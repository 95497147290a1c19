"""The sender's pure parts: the backoff, and which outbox rows count as relayed texts it may combine."""
from __future__ import annotations

import pytest

from supportbot.sender import Relay, _relay
from supportbot.storage import OutboxRow
from supportbot.telegram import Backoff


def test_backoff_grows_1_3_times_from_1_s_to_a_5_s_cap_and_starts_over_after_a_success():
    backoff = Backoff(rand=lambda: 0.5)  # no jitter
    pauses = [round(backoff.next(), 3) for _ in range(10)]
    assert pauses == [1.0, 1.3, 1.69, 2.197, 2.856, 3.713, 4.827, 5.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next() == 1.0


@pytest.mark.parametrize("rand, factor", [(0.0, 0.9), (1.0, 1.1)])
def test_backoff_jitter_stays_within_ten_percent(rand, factor):
    backoff = Backoff(rand=lambda: rand)
    for _ in range(9):
        pause = backoff.next()
    assert pause == pytest.approx(5.0 * factor)


def _row(text, kind="SendText", **payload):
    return OutboxRow(1, 900, kind, {"text": text, "buttons": [], "reply_to_outbox": None, **payload}, 5, 0)


@pytest.mark.parametrize("row, body, expected", [
    (_row("Анна (#1):\nДобрый день"), "Добрый день", Relay(7, "Анна (#1):", "Добрый день")),
    (_row("Анна (#1):\nдве\nстроки"), "две\nстроки", Relay(7, "Анна (#1):", "две\nстроки")),
    (_row("Анна (#1):\nДобрый"), "Добрый день", None),  # a piece of a split text: not as written
    (_row("Анна (#1):\nДобрый день", buttons=[[["Взять", "pick:1"]]]), "Добрый день", None),
    (_row("✏️ Анна исправил(а):\nДобрый день", reply_to_outbox=3), "Добрый день", None),
    (_row("Добрый день"), "Добрый день", None),  # no header line
    (_row("", kind="CopyMessage"), "Добрый день", None),
])
def test_only_plain_relays_of_a_customers_text_may_be_combined(row, body, expected):
    assert _relay(row, 7, body) == expected
