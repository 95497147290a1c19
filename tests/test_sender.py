"""The sender: its backoff, which rows it may combine, and what it does with failures (in-process, real SQLite)."""
from __future__ import annotations

import threading
import time

import pytest
from telebot import apihelper

from supportbot.core import Person, SendText
from supportbot.sender import Relay, Sender, _relay
from supportbot.storage import OutboxRow, Storage
from supportbot.telegram import Backoff
from tests.databases import fresh_database

OPERATOR_CHAT = 900


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


class FakeClient:
    """Records every call; `answers` decides each one: an exception to raise, or None for success."""

    def __init__(self, answers):
        self.answers = answers
        self.calls: list[tuple[str, int, dict]] = []
        self.cond = threading.Condition()

    def perform(self, kind, chat_id, payload):
        with self.cond:
            self.calls.append((kind, chat_id, payload))
            error = self.answers(len(self.calls), payload)
            self.cond.notify_all()
        if error is not None:
            raise error
        return 1000 + len(self.calls)

    def wait(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.calls):
                assert self.cond.wait(deadline - time.monotonic()) or predicate(self.calls), self.calls


def api_error(code: int, description: str) -> apihelper.ApiTelegramException:
    return apihelper.ApiTelegramException("sendMessage", None, {"ok": False, "error_code": code,
                                                                "description": description})


def queue_relays(db, texts: list[str]) -> None:
    """Relays of one customer's texts to the operator's chat, as the handlers queue them."""
    store = Storage(db)
    with store.transaction() as tx:
        customer = tx.upsert_customer(Person(501, "Анна"), 501, 0.0)
        for text in texts:
            message_id = tx.add_message(customer_id=customer.id, dialog_id=None, direction="in", author="Анна",
                                        author_user_id=501, content_type="text", body=text, file_id=None,
                                        tg_chat_id=501, tg_message_id=None, relayed=True, now=0.0)
            tx.enqueue(SendText(OPERATOR_CHAT, f"Анна (#1):\n{text}"), 0.0, message_id, customer.id)
    store.close()


def run_sender(db, client, until) -> list[tuple]:
    """Run a fast sender (one message of credit per chat, so anything more waiting is combined) until `until`."""
    sender = Sender(db, client, rate_per_second=1000, per_chat_rate=50, per_chat_burst=1)
    sender.backoff = Backoff(first=0.01, cap=0.05)  # the same policy, faster
    sender.start()
    try:
        client.wait(until)
    finally:
        sender.stop(5)
    store = Storage(db)
    try:
        return [tuple(r) for r in store.conn.execute("SELECT status, result_message_id FROM outbox ORDER BY id")]
    finally:
        store.close()


def test_a_rejected_token_leaves_every_row_waiting_until_it_is_accepted(tmp_path):
    db = fresh_database(tmp_path)
    queue_relays(db, ["один"])
    client = FakeClient(lambda n, _payload: api_error(401, "Unauthorized") if n <= 4 else None)
    rows = run_sender(db, client, until=lambda calls: len(calls) >= 5)
    assert rows == [("sent", 1005)]  # four refusals set nothing aside


def test_a_waiting_customers_texts_go_as_one_message_that_every_row_answers_to(tmp_path):
    db = fresh_database(tmp_path)
    queue_relays(db, ["один", "два", "три"])
    client = FakeClient(lambda n, _payload: None)
    rows = run_sender(db, client, until=lambda calls: len(calls) >= 1)
    assert [c[2]["text"] for c in client.calls] == ["Анна (#1):\nодин\nдва\nтри"]
    assert rows == [("sent", 1001)] * 3  # a reply to that message finds its customer through any row


def test_a_refused_combined_message_is_sent_again_one_row_at_a_time(tmp_path):
    db = fresh_database(tmp_path)
    queue_relays(db, ["один", "два", "три"])
    client = FakeClient(lambda n, _payload: api_error(400, "Bad Request: message is too long") if n == 1 else None)
    rows = run_sender(db, client, until=lambda calls: len(calls) >= 4)
    assert [c[2]["text"].split("\n")[1:] for c in client.calls] == [["один", "два", "три"], ["один"], ["два"],
                                                                     ["три"]]
    assert rows == [("sent", 1002), ("sent", 1003), ("sent", 1004)]  # not the rows' fault: none set aside
