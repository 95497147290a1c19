"""Pieces of the running bot that need no process: log redaction, the damaged-database test, storable text."""
from __future__ import annotations

import json
import logging
import sqlite3

from supportbot.app import RedactingFormatter, database_damaged, open_database_problem, storable_text
from supportbot.config import load_config
from supportbot.storage import Storage

TOKEN = "123456:AAsecret-token"


def test_the_token_never_reaches_a_log_line_not_even_in_a_traceback():
    formatter = RedactingFormatter("%(levelname)s %(message)s", secret=TOKEN)
    try:
        raise ConnectionError(f"Max retries exceeded with url: /bot{TOKEN}/getUpdates")
    except ConnectionError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "calling /bot%s/getMe", (TOKEN,),
                                   exc_info=__import__("sys").exc_info())
    line = formatter.format(record)
    assert TOKEN not in line and "AAsecret" not in line
    assert "/bot***/getMe" in line and "/bot***/getUpdates" in line


def test_a_lone_surrogate_survives_as_ascii_json():
    update = {"update_id": 7, "message": {"text": "сломано \ud800 здесь"}}
    text = storable_text(update)
    text.encode("utf-8")  # storable
    assert "\\ud800" in text and json.loads(text) == update  # nothing lost


def _config(tmp_path):
    return load_config({"TELEGRAM_BOT_TOKEN": "1:a", "OPERATOR_PINS": "1111",
                        "DATABASE_URL": "sqlite:///" + str(tmp_path / "support.db")})


def test_a_garbage_file_is_named_damaged_with_what_to_do(tmp_path):
    config = _config(tmp_path)
    config.database_path.write_bytes(b"not a database " * 500)
    problem = open_database_problem(config)
    assert problem is not None and "\n" not in problem
    assert "повреждена" in problem and "резервную копию" in problem and "backups" in problem


def test_a_healthy_or_missing_database_is_no_problem(tmp_path):
    config = _config(tmp_path)
    assert open_database_problem(config) is None  # created
    assert open_database_problem(config) is None  # opened again


def test_a_database_from_a_newer_bot_is_named(tmp_path):
    config = _config(tmp_path)
    Storage(config.database_path).close()
    conn = sqlite3.connect(config.database_path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    problem = open_database_problem(config)
    assert "более новой версией" in problem and "99" in problem


def test_only_corruption_counts_as_a_damaged_database():
    locked = sqlite3.OperationalError("database is locked")
    assert not database_damaged(locked) and not database_damaged(ValueError("x"))
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("SELEC 1")
    except sqlite3.Error as exc:
        assert not database_damaged(exc)


def test_an_unstorable_update_fetched_again_is_set_aside_once_and_never_processed(tmp_path):
    store = Storage(tmp_path / "support.db")
    try:
        text = storable_text({"update_id": 7, "message": {"text": "\ud800"}})
        store.set_aside_updates([(7, "message", text, "UnicodeEncodeError")], 1.0)
        store.set_aside_updates([(7, "message", text, "UnicodeEncodeError")], 2.0)  # after a crash before confirming
        assert [(r["update_id"], r["payload"]) for r in store.dead_letters()] == [(7, text)]
        assert store.new_inbox(10) == []  # the processor never sees it
        assert store.add_updates([(7, "message", "{}")], 3.0) == 0  # nor a later copy of it
    finally:
        store.close()
