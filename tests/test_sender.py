"""The sender: its backoff, which rows it may combine, and what it does with failures (in-process, real SQLite)."""
from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest
from telebot import apihelper

from supportbot.core import CreateTopic, Person, SendText
from supportbot.pacing import Relay
from supportbot.pacing import relay_of as _relay
from supportbot.backlog import Backlog
from supportbot import sender as sender_module
from supportbot.sender import Sender
from supportbot.storage import OutboxRow, Storage
from supportbot.telegram import Backoff, NewTopic
from tests.databases import fresh_database, fresh_postgres

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


# --- topics: thread ids resolved at send time, a gone topic opened again --------------------------------------

class TopicClient(FakeClient):
    """A FakeClient that also opens topics (thread ids from 70 up) and refuses sends into `gone` threads."""

    def __init__(self, answers=lambda n, payload: None, refuse_topics=False):
        super().__init__(answers)
        self.gone: set[int] = set()
        self.next_thread = 70
        self.refuse_topics = refuse_topics

    def perform(self, kind, chat_id, payload):
        if kind == "CreateTopic":
            with self.cond:
                self.calls.append((kind, chat_id, payload))
                self.cond.notify_all()
            return NewTopic(self.create_topic(chat_id, payload["name"], record=False))
        if payload.get("message_thread_id") in self.gone:
            with self.cond:
                self.calls.append((kind, chat_id, payload))
                self.cond.notify_all()
            raise api_error(400, "Bad Request: message thread not found")
        return super().perform(kind, chat_id, payload)

    def create_topic(self, chat_id, name, record=True):
        if record:
            with self.cond:
                self.calls.append(("createForumTopic", chat_id, {"name": name}))
                self.cond.notify_all()
        if self.refuse_topics:
            raise api_error(400, "Bad Request: the chat is not a forum")
        self.next_thread += 1
        return self.next_thread


def queue_topic_dialog(db, texts_: list[str], *, thread_id=None, create=False, topic_of=True) -> int:
    """A dialog with a topic in the operator's chat (known thread, or a CreateTopic row first) and relays into it."""
    store = Storage(db)
    with store.transaction() as tx:
        customer = tx.upsert_customer(Person(501, "Анна"), 501, 0.0)
        dialog = tx.create_dialog(customer.id, 0.0)
        tx.name_topic(dialog.id, OPERATOR_CHAT, "#1 Анна")
        if create:
            tx.enqueue(CreateTopic(OPERATOR_CHAT, dialog.id, "#1 Анна"), 0.0)
        for text in texts_:
            message_id = tx.add_message(customer_id=customer.id, dialog_id=dialog.id, direction="in", author="Анна",
                                        author_user_id=501, content_type="text", body=text, file_id=None,
                                        tg_chat_id=501, tg_message_id=None, relayed=True, now=0.0)
            tx.enqueue(SendText(OPERATOR_CHAT, f"Анна (#1):\n{text}", topic_of=dialog.id if topic_of else None),
                       0.0, message_id, customer.id)
    if thread_id is not None:
        store.set_dialog_topic(dialog.id, OPERATOR_CHAT, thread_id)
    store.close()
    return dialog.id


def _sent_calls(client):
    return [(c[0], c[2].get("message_thread_id"), c[2].get("text")) for c in client.calls]


def test_a_topic_opened_by_an_earlier_row_is_used_by_the_rows_after_it_and_recorded(tmp_path):
    db = tmp_path / "support.db"
    dialog_id = queue_topic_dialog(db, ["один"], create=True)
    client = TopicClient()
    rows = run_sender(db, client, until=lambda calls: len(calls) >= 2)
    assert _sent_calls(client) == [("CreateTopic", None, None), ("SendText", 71, "Анна (#1):\nодин")]
    assert rows == [("sent", None), ("sent", 1002)]  # a topic is no message
    store = Storage(db)
    assert store.dialog_topic(dialog_id, OPERATOR_CHAT) == (71, "#1 Анна")
    store.close()


def test_a_waiting_customers_texts_are_combined_in_their_topic_but_never_across_topics(tmp_path):
    db = tmp_path / "support.db"
    queue_topic_dialog(db, ["один", "два"], thread_id=55)
    store = Storage(db)
    with store.transaction() as tx:  # the same customer's text, relayed outside the topic (the classic mode)
        message_id = tx.add_message(customer_id=1, dialog_id=None, direction="in", author="Анна", author_user_id=501,
                                    content_type="text", body="три", file_id=None, tg_chat_id=501, tg_message_id=None,
                                    relayed=True, now=0.0)
        tx.enqueue(SendText(OPERATOR_CHAT, "Анна (#1):\nтри"), 0.0, message_id, 1)
    store.close()
    client = TopicClient()
    run_sender(db, client, until=lambda calls: len(calls) >= 2)
    assert _sent_calls(client) == [("SendText", 55, "Анна (#1):\nодин\nдва"), ("SendText", None, "Анна (#1):\nтри")]


def test_a_deleted_topic_is_opened_again_the_row_goes_there_and_the_handlers_are_told(tmp_path):
    db = tmp_path / "support.db"
    dialog_id = queue_topic_dialog(db, ["один"], thread_id=55)
    client = TopicClient()
    client.gone.add(55)
    rows = run_sender(db, client, until=lambda calls: len(calls) >= 3)
    assert _sent_calls(client) == [("SendText", 55, "Анна (#1):\nодин"), ("createForumTopic", None, None),
                                   ("SendText", 71, "Анна (#1):\nодин")]
    assert client.calls[1][2] == {"name": "#1 Анна"}
    assert rows == [("sent", 1003)]
    store = Storage(db)
    try:
        assert store.dialog_topic(dialog_id, OPERATOR_CHAT) == (71, "#1 Анна")
        events = store.conn.execute("SELECT kind, payload FROM inbox").fetchall()
        assert [(kind, json.loads(payload)) for kind, payload in events] == [
            ("topic_recreated", {"chat_id": OPERATOR_CHAT, "dialog_id": dialog_id})]
    finally:
        store.close()


def test_when_no_topic_can_be_opened_any_more_the_row_goes_without_one(tmp_path):
    db = tmp_path / "support.db"
    dialog_id = queue_topic_dialog(db, ["один", "два"], thread_id=55)
    client = TopicClient(refuse_topics=True)
    client.gone.add(55)
    rows = run_sender(db, client, until=lambda calls: len(calls) >= 3)
    assert _sent_calls(client)[-1] == ("SendText", None, "Анна (#1):\nодин\nдва")
    assert rows == [("sent", 1003)] * 2
    store = Storage(db)
    try:
        assert store.dialog_topic(dialog_id, OPERATOR_CHAT) == (None, "#1 Анна")
        assert store.conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0  # nothing to show again
    finally:
        store.close()


# --- PostgreSQL: two copies that overlap never both send a row ---------------------------------------------

def queue_texts(db, chats: range, per_chat: int) -> None:
    """`per_chat` numbered texts to each chat, interleaved across chats."""
    store = Storage(db)
    with store.transaction() as tx:
        for number in range(per_chat):
            for chat in chats:
                tx.enqueue(SendText(chat, f"{chat}:{number}"), 0.0)
    store.close()


def test_a_sender_claims_its_rows_and_another_gets_them_only_when_it_is_gone():
    db = fresh_postgres()
    queue_texts(db, range(1, 4), 2)  # rows 1:0 2:0 3:0 1:1 2:1 3:1
    first, second = Storage(db), Storage(db)
    try:
        mine, theirs = first.sender_key(), second.sender_key()
        claimed, _ = first.claim_outbox(mine, 0, limit=2)
        assert [row.payload["text"] for row in claimed] == ["1:0", "2:0"]
        rest, others = second.claim_outbox(theirs, 0)
        # chats 1 and 2 wait behind the first copy's rows (each chat in order); chat 3 is free
        assert [row.payload["text"] for row in rest] == ["3:0", "3:1"] and others
        assert second.claim_outbox(theirs, 0) == ([], True)  # never its own rows again
        first.close()  # its lock goes with its connection: its claims are free
        freed, others = second.claim_outbox(theirs, 0)
        assert [row.payload["text"] for row in freed] == ["1:0", "2:0", "1:1", "2:1"] and not others
    finally:
        second.close()


def test_a_sender_whose_connection_was_replaced_keeps_its_claims_and_takes_none_twice():
    db = fresh_postgres()
    queue_texts(db, range(1, 2), 3)
    store, other = Storage(db), Storage(db)
    try:
        key = store.sender_key()
        assert len(store.claim_outbox(key, 0)[0]) == 3
        pid = store.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        other.conn.execute("SELECT pg_terminate_backend(?)", (pid,))
        with pytest.raises(sqlite3.Error):
            store.claim_outbox(key, 0)  # the broken connection is noticed; the driver connects again after it
        assert store.claim_outbox(key, 0) == ([], False)  # nothing of its own again, and its lock is back
        assert other.claim_outbox(other.sender_key(), 0) == ([], True)  # so nobody else takes its rows
    finally:
        store.close()
        other.close()


def test_rows_freed_by_a_dead_copy_go_out_even_while_new_rows_keep_coming(monkeypatch):
    monkeypatch.setattr(sender_module, "RESCAN_SECONDS", (0.2, 1.0))
    db = fresh_postgres()
    queue_texts(db, range(1, 2), 1)
    dead = Storage(db)
    assert len(dead.claim_outbox(dead.sender_key(), 0)[0]) == 1  # another copy holds 1:0
    client = FakeClient(lambda n, _payload: None)
    sender = Sender(db, client, rate_per_second=1000, per_chat_rate=1000, per_chat_burst=100)
    sender.start()
    try:
        queue_texts(db, range(2, 3), 1)
        sender.wake()
        client.wait(lambda calls: len(calls) >= 1)
        dead.close()  # that copy is gone: 1:0 is free
        done = threading.Event()

        def busy_bot():  # a new row every 0.1 s, more often than the sender would look again from the start
            for number in range(3, 100):
                if done.wait(0.1):
                    return
                queue_texts(db, range(number, number + 1), 1)
                sender.wake()
        feeder = threading.Thread(target=busy_bot)
        feeder.start()
        try:
            client.wait(lambda calls: any(call[2]["text"] == "1:0" for call in calls), timeout=5)
        finally:
            done.set()
            feeder.join()
    finally:
        sender.stop(5)


def test_two_overlapping_senders_send_every_row_once():
    db = fresh_postgres()
    client = FakeClient(lambda n, _payload: None)
    senders = [Sender(db, client, rate_per_second=1000, per_chat_rate=1000, per_chat_burst=100) for _ in range(2)]
    for sender in senders:
        sender.start()
    try:
        for batch in range(5):  # both are running: each batch is raced for
            queue_texts(db, range(1, 31), 2)
            for sender in senders:
                sender.wake()
        client.wait(lambda calls: len(calls) >= 300, timeout=20)
    finally:
        for sender in senders:
            sender.stop(5)
    texts = [call[2]["text"] for call in client.calls]
    assert sorted(texts) == sorted(f"{chat}:{n}" for chat in range(1, 31) for n in range(2) for _ in range(5))
    assert len(set(senders[0].sent_ids) & set(senders[1].sent_ids)) == 0


# --- the backlog: rows per chat in id order ----------------------------------------------------------------

def _text_row(row_id: int, chat: int, text: str) -> OutboxRow:
    return OutboxRow(row_id, chat, "SendText", {"text": f"Анна (#1):\n{text}", "buttons": [],
                                                 "reply_to_outbox": None}, row_id, 0)


def test_rows_freed_by_another_sender_take_their_place_by_id_but_never_before_a_head_in_flight():
    backlog = Backlog()
    backlog.add([_text_row(5, 1, "e"), _text_row(7, 1, "g"), _text_row(6, 2, "f")], {}, busy=set())
    backlog.add([_text_row(3, 1, "c"), _text_row(4, 2, "d")], {}, busy={1})  # chat 1's head (5) is being sent
    assert [r.id for r in backlog.chats[1]] == [5, 3, 7] and [r.id for r in backlog.chats[2]] == [4, 6]
    assert backlog.chats_in_order() == [2, 1] and backlog.last_loaded == 7  # by the oldest head


def test_the_next_call_combines_a_customers_texts_only_when_the_chat_has_more_waiting_than_credit():
    backlog = Backlog()
    rows = [_text_row(n, 1, word) for n, word in ((1, "один"), (2, "два"), (3, "три"))]
    backlog.add(rows, {r.id: (7, r.payload["text"].split("\n")[1]) for r in rows}, busy=set())
    assert backlog.next_call(1, credit=3) == ([rows[0]], None)
    taken, text = backlog.next_call(1, credit=1)
    assert taken == rows and text == "Анна (#1):\nодин\nдва\nтри"
    backlog.one_by_one(tuple(taken))
    assert backlog.next_call(1, credit=1) == ([rows[0]], None)
    backlog.remove(rows[1])
    assert [r.id for r in backlog.chats[1]] == [1, 3]
    assert backlog.drop_chat(1) == [rows[0], rows[2]] and backlog.chats == {}
