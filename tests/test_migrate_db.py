"""`migrate-db`: a shop's SQLite database with history, a queue and pending outbox rows, copied into
PostgreSQL as the owner runs it (a process), then used by the bot's storage there."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from supportbot.core import Person, SendText
from supportbot.storage import Storage, open_database
from tests.databases import fresh_postgres

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "topsecret-123"  # the test server trusts every login: the password is only there to be hidden


def shop_with_history(path: Path) -> None:
    store = Storage(path)
    store.add_updates([(100, "message", '{"update_id":100}'), (101, "message", '{"update_id":101}')], 5.0)
    store.set_aside_updates([(102, "message", '{"bad":"\\ud800"}', "lone surrogate")], 6.0)
    with store.transaction() as tx:
        tx.seat_login(1, Person(900, "Ольга"), 900, 1.0, "salt", "hash")
        tx.remember_operator(900)
        for uid in (501, 502, 503):
            customer = tx.upsert_customer(Person(uid, f"Покупатель {uid}", None, f"u{uid}"), -1001234567890 - uid, 2.0)
            dialog = tx.create_dialog(customer.id, 3.0 + uid)
            message = tx.add_message(customer_id=customer.id, dialog_id=dialog.id, direction="in", author="Анна",
                                     author_user_id=uid, content_type="text", body=f"вопрос 100% {uid}",
                                     file_id=None, tg_chat_id=uid, tg_message_id=uid, relayed=False, now=4.5)
            tx.enqueue(SendText(900, f"вопрос {uid}"), 5.0, message, customer.id)
        tx.close_dialog(tx.assign(tx.dialog(1), 1, 10.0), "done", 20.0)  # history
        tx.assign(tx.dialog(2), 1, 11.0)  # active; dialog 3 stays queued
        tx.set_state("topics", "off")
        tx.name_topic(2, 900, "Покупатель 502")
        tx.set_login_failures(901, 2, 99.0)
        tx.count_login_failure(901, 13.0)
        tx.add_faq_event(2, 1, "answered", 12.0)
        tx.hold_message(seat=1, tg_user_id=900, author="Ольга", content_type="text", body="кому?", file_id=None,
                        tg_chat_id=900, tg_message_id=77, media_group_id=None, now=13.0)
    store.record_deliveries(sent=[(1, 4001)], retries=[], failed=[], now=14.0,
                            album_ids=[(1, 900, 4002)])  # row 1 sent, rows 2 and 3 still pending
    store.close()


def migrate_db(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SUPPORTBOT_ENV_FILE": "", "TELEGRAM_BOT_TOKEN": "1234:test", "OPERATOR_PINS": "1111",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "supportbot", "migrate-db", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def rows(conn, table: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]


def test_a_shop_moves_to_postgresql_whole_and_carries_on_there(tmp_path):
    source = tmp_path / "support.db"
    shop_with_history(source)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    target = fresh_postgres()
    url = target.url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")

    done = migrate_db("--to", url, "--from", str(source))

    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert "DATABASE_URL=postgresql://postgres:***@127.0.0.1:5432/" in done.stdout
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest  # the SQLite file is untouched
    sqlite_conn, pg_conn = open_database(source), open_database(target)
    # The panel's search index is not copied: it is rebuilt from the messages at the next search.
    tables = [r[0] for r in sqlite_conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'message_terms%'")]
    assert len(tables) >= 15
    for table in tables:
        assert rows(pg_conn, table) == rows(sqlite_conn, table), table
        assert rows(pg_conn, table), f"{table} is empty: the test's shop should have something in every table"
    sqlite_conn.close()
    pg_conn.close()

    store = Storage(target)  # the bot on the new database: the queue, the pending rows, new ids after the old
    assert [(r.id, r.payload["text"]) for r in store.pending_outbox(0)] == [(2, "вопрос 502"), (3, "вопрос 503")]
    with store.transaction() as tx:
        assert [d.id for d in tx.queued_dialogs()] == [3]
        assert [m.body for m in tx.history(2, 5)] == ["вопрос 100% 502"]
        customer = tx.upsert_customer(Person(504, "Новый"), 504, 30.0)
        assert customer.id == 4 and tx.create_dialog(customer.id, 30.0).id == 4
        assert tx.enqueue(SendText(504, "здравствуйте"), 30.0) == 4
    assert store.add_updates([(103, "message", "{}")], 31.0) == 1
    store.close()


def test_a_target_with_tables_is_refused_and_left_as_it_was(tmp_path):
    source = tmp_path / "support.db"
    shop_with_history(source)
    target = fresh_postgres()
    Storage(target).close()  # a bot already ran there

    done = migrate_db("--to", target.url, "--from", str(source))

    assert done.returncode == 1
    assert "не пуста" in done.stderr
    conn = open_database(target)
    assert conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 0
    conn.close()
