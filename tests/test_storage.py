"""Storage against a real SQLite file in tmp_path, or PostgreSQL with SUPPORTBOT_TEST_DB=postgresql."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from supportbot import storage as st
from supportbot.core import DialogState, InvalidTransition, Person, SendText
from supportbot.storage import InstanceLock, Storage
from tests.databases import fresh_database, on_postgres

sqlite_only = pytest.mark.skipif(on_postgres(), reason="SQLite's own pragmas and files: run in the SQLite pass of .ci/run")


@pytest.fixture
def where(tmp_path):
    return fresh_database(tmp_path)


@pytest.fixture
def db(where):
    store = Storage(where)
    yield store
    store.close()


def test_schema_version_is_recorded_and_reopening_applies_nothing_twice(db, where):
    assert st.schema_version(db.conn) == len(st.MIGRATIONS)
    with db.transaction() as tx:
        tx.upsert_customer(Person(5, "Анна"), 5, 1.0)
    again = Storage(where)
    assert st.schema_version(again.conn) == len(st.MIGRATIONS)
    assert again.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 1
    again.close()


@sqlite_only
def test_pragmas(db):
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_a_failed_migration_leaves_nothing_half_done(where, monkeypatch):
    good = len(st.MIGRATIONS)
    monkeypatch.setattr(st.schema, "MIGRATIONS",
                        st.MIGRATIONS + [("broken", ["CREATE TABLE extra (x INTEGER)", "NOT SQL"])])
    with pytest.raises(sqlite3.DatabaseError):
        Storage(where)
    conn = st.open_database(where)
    assert st.schema_version(conn) == good
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("SELECT COUNT(*) FROM extra")
    conn.close()


def test_a_newer_schema_is_refused(where):
    Storage(where).close()
    conn = st.open_database(where)
    with st.atomic(conn):
        st.schema._set_schema_version(conn, len(st.MIGRATIONS) + 1)
    conn.close()
    with pytest.raises(st.NewerSchema):
        Storage(where)


def test_a_failed_commit_is_rolled_back_and_the_next_transaction_works(db):
    # A deferred foreign key is checked only at COMMIT: the commit itself fails.
    db.conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.conn.execute("CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(sqlite3.IntegrityError):
        with db.transaction() as tx:
            tx.conn.execute("INSERT INTO child (p) VALUES (42)")
    assert not db.conn.in_transaction
    with db.transaction() as tx:
        tx.conn.execute("INSERT INTO parent (id) VALUES (42)")
        tx.conn.execute("INSERT INTO child (p) VALUES (42)")
    assert db.conn.execute("SELECT COUNT(*) FROM child").fetchone()[0] == 1


def test_nested_transactions_are_savepoints(db):
    db.conn.execute("CREATE TABLE t (x INTEGER)")
    with db.transaction() as tx:
        tx.conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ZeroDivisionError):
            with db.transaction() as inner:
                inner.conn.execute("INSERT INTO t VALUES (2)")
                1 / 0
    assert [r[0] for r in db.conn.execute("SELECT x FROM t")] == [1]


def test_customers_get_short_ids_and_are_found_both_ways(db):
    with db.transaction() as tx:
        anna = tx.upsert_customer(Person(777000111, "Анна", None, "anna"), 777000111, 1.0)
        boris = tx.upsert_customer(Person(777000222, "Борис"), 777000222, 2.0)
        again = tx.upsert_customer(Person(777000111, "Аня", None, None), 777000111, 3.0)
        vera = tx.upsert_customer(Person(777000333, "Вера"), 777000333, 4.0)
        assert (anna.id, boris.id, again.id, vera.id) == (1, 2, 1, 3)  # no number skipped (PostgreSQL's sequences)
        assert again.first_name == "Аня" and again.label == "Аня (#1)"
        assert tx.find_customer(2).first_name == "Борис"
        assert tx.find_customer(777000222).id == 2
        assert tx.find_customer(4) is None


def test_queue_order_head_requeue_and_one_open_dialog(db):
    with db.transaction() as tx:
        for uid in (1, 2, 3):
            tx.upsert_customer(Person(uid * 1000, f"c{uid}"), uid * 1000, 0)
        tx.seat_login(1, Person(9, "Ольга"), 9, 0, "salt", "hash")
        d1, d2, d3 = (tx.create_dialog(cid, 10.0 + cid) for cid in (1, 2, 3))
        assert [tx.queue_position(d) for d in (d1, d2, d3)] == [1, 2, 3]
        with pytest.raises(sqlite3.IntegrityError), tx.savepoint():  # PostgreSQL undoes only to a savepoint
            tx.create_dialog(1, 20.0)
        a1 = tx.assign(d1, 1, 30.0)
        a2 = tx.assign(tx.dialog(d2.id), 1, 31.0)
        assert tx.current_dialog(1) is None  # which dialog is current is the handlers' (the core's) decision
        tx.set_current(1, a1.id)
        with pytest.raises(InvalidTransition):
            tx.assign(d2, 1, 32.0)  # a stale snapshot: d2 is active already
        assert tx.queue_position(tx.dialog(d3.id)) == 1
        tx.requeue_at_head([a1, a2], 40.0)
        assert [tx.queue_head().id] == [d1.id]
        order = [tx.queue_position(tx.dialog(d.id)) for d in (d1, d2, d3)]
        assert order == [1, 2, 3]
        assert tx.current_dialog(1) is None
        tx.close_dialog(tx.dialog(d3.id), "done", 50.0)
        with pytest.raises(InvalidTransition):
            tx.assign(tx.dialog(d3.id), 1, 60.0)
        assert tx.dialog(d3.id).state is DialogState.CLOSED
        assert tx.open_dialog(3) is None


def test_history_is_the_last_n_oldest_first(db):
    with db.transaction() as tx:
        customer = tx.upsert_customer(Person(5, "Анна"), 5, 0)
        for i, body in enumerate([*(f"m{i}" for i in range(30)), "m?", "50%"]):
            tx.add_message(customer_id=customer.id, dialog_id=None, direction="in", author="Анна",
                           author_user_id=5, content_type="text", body=body, file_id=None,
                           tg_chat_id=5, tg_message_id=i, relayed=True, now=float(i))
        assert [m.body for m in tx.history(customer.id, 3)] == ["m29", "m?", "50%"]
    # Literals holding ? and % mean the same with and without parameters (PostgreSQL's placeholders are translated).
    assert db.conn.execute("SELECT COUNT(*) FROM messages WHERE body IN ('m?', '50%')").fetchone()[0] == 2
    assert db.conn.execute("SELECT COUNT(*) FROM messages WHERE body IN ('m?', '50%') AND customer_id = ?",
                           (customer.id,)).fetchone()[0] == 2


def test_inbox_stores_each_update_once_and_dead_letters_after_three_failures(db):
    assert db.add_updates([(10, "message", "{}"), (11, "message", "{}")], 1.0) == 2
    assert db.add_updates([(11, "message", "{}"), (12, "message", "{}")], 2.0) == 1
    rows = db.new_inbox(10)
    assert [r.update_id for r in rows] == [10, 11, 12]
    for attempt in range(3):
        with db.transaction() as tx:
            dead = tx.inbox_failed(db.new_inbox(1)[0], "boom", 3.0)
        assert dead is (attempt == 2)
    assert [r.update_id for r in db.new_inbox(10)] == [11, 12]
    assert [(r["update_id"], r["error"]) for r in db.dead_letters()] == [(10, "boom")]


def test_outbox_rows_are_recorded_and_failures_become_events(db):
    with db.transaction() as tx:
        tx.enqueue(SendText(5, "привет"), 1.0)
        tx.enqueue(SendText(6, "пока"), 1.0)
    rows = db.pending_outbox(0)
    assert [(r.chat_id, r.kind, r.payload["text"]) for r in rows] == [(5, "SendText", "привет"),
                                                                      (6, "SendText", "пока")]
    db.record_deliveries(sent=[(rows[0].id, 42)], retries=[], failed=[(rows[1].id, "403", {"chat_id": 6})], now=2.0)
    assert db.pending_outbox(0) == []
    assert db.outbox_counts() == {"sent": 1, "failed": 1}
    assert [r.kind for r in db.new_inbox(10)] == ["delivery_failure"]


def test_set_aside_updates_are_kept_once_with_their_inbox_id(db):
    db.set_aside_updates([(20, "message", '{"x":1}', "bad"), (21, "message", "{}", "worse")], 1.0)
    db.set_aside_updates([(20, "message", '{"x":1}', "bad")], 2.0)
    inbox = {r["update_id"]: r["id"] for r in db.conn.execute("SELECT id, update_id FROM inbox WHERE status = 'dead'")}
    assert [(r["inbox_id"], r["update_id"]) for r in db.dead_letters()] == [(inbox[20], 20), (inbox[21], 21)]


def test_ids_come_back_from_every_insert(db):
    with db.transaction() as tx:
        customer = tx.upsert_customer(Person(5, "Анна"), 5, 0)
        first = tx.add_message(customer_id=customer.id, dialog_id=None, direction="in", author="Анна",
                               author_user_id=5, content_type="text", body="100% да?", file_id=None,
                               tg_chat_id=5, tg_message_id=1, relayed=False, now=1.0)
        second = tx.add_message(customer_id=customer.id, dialog_id=None, direction="in", author="Анна",
                                author_user_id=5, content_type="text", body="ещё", file_id=None,
                                tg_chat_id=-1001234567890, tg_message_id=2, relayed=False, now=2.0)
        held = tx.hold_message(seat=1, tg_user_id=9, author="Ольга", content_type="text", body="x", file_id=None,
                               tg_chat_id=9, tg_message_id=3, media_group_id=None, now=3.0)
        assert second == first + 1 and held == 1
        assert [m.body for m in tx.history(customer.id, 5)] == ["100% да?", "ещё"]  # a literal % survives
        assert tx.message_by_telegram_id(-1001234567890, 2).id == second  # 64-bit chat ids
        tx.remember_operator(9)
        tx.remember_operator(9)
        assert tx.held_a_seat(9)


@pytest.mark.skipif(not on_postgres(), reason="PostgreSQL's server connection: runs in the PostgreSQL pass of .ci/run")
def test_a_connection_the_server_ended_is_opened_again_for_the_next_transaction(db):
    import psycopg

    pid = db.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(db.conn.where.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(sqlite3.OperationalError):  # the transaction in hand fails and is undone ...
        with db.transaction() as tx:
            tx.upsert_customer(Person(5, "Анна"), 5, 1.0)
    assert db.add_updates([(1, "message", "{}")], 2.0) == 1  # ... the next one runs on a new connection
    assert db.conn.execute("SELECT pg_backend_pid()").fetchone()[0] != pid


@sqlite_only
def test_instance_lock_is_exclusive_and_dies_with_its_process(tmp_path):
    lock_path = tmp_path / "support.db.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from supportbot.storage import InstanceLock;"
         "assert InstanceLock(Path(sys.argv[1])).acquire(); print('held', flush=True); time.sleep(60)", str(lock_path)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert InstanceLock(lock_path).acquire() is False
    finally:
        holder.kill()
        holder.wait()
    lock = InstanceLock(lock_path)
    assert lock.acquire() is True  # a killed holder leaves no stale lock
    lock.release()
