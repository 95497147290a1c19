"""Pieces of the running bot that need no process: log redaction, the damaged-database test, storable text."""
from __future__ import annotations

import json
import logging
import sqlite3

import pytest

from supportbot.logs import RedactingFormatter
from supportbot.app import database_damaged, decode, open_database_problem, storable_text
from supportbot.config import load_config, topics_mode
from supportbot.core import TopicRecreated
from supportbot.storage import InboxRow
from supportbot.telegram import parse_update
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


@pytest.mark.parametrize("setting, has_topics, mode", [
    ("auto", True, True), ("auto", False, False), ("on", True, True), ("on", False, None),
    ("off", True, False), ("off", False, False),
])
def test_topics_mode_from_the_setting_and_get_me(setting, has_topics, mode):
    assert topics_mode(setting, has_topics) is mode  # None: refuse to start


def _message(**fields):
    return {"update_id": 1, "message": {"message_id": 12, "date": 0, "chat": {"id": 900, "type": "private"},
                                        "from": {"id": 900, "is_bot": False, "first_name": "Ольга"}, **fields}}


@pytest.mark.parametrize("fields, content_type, thread_id, reply_to", [
    ({"text": "в General"}, "text", None, None),
    ({"text": "в теме", "message_thread_id": 7, "is_topic_message": True,
      "reply_to_message": {"message_id": 7, "date": 0, "chat": {"id": 900, "type": "private"}}}, "text", 7, None),
    ({"text": "ответ в теме", "message_thread_id": 7, "is_topic_message": True,  # an explicit reply stays one
      "reply_to_message": {"message_id": 9, "date": 0, "chat": {"id": 900, "type": "private"}}}, "text", 7, 9),
    ({"text": "ответ в ветке", "message_thread_id": 7}, "text", None, None),  # a reply thread, not a topic
    ({"forum_topic_created": {"name": "моя", "icon_color": 7322096}, "message_thread_id": 12,
      "is_topic_message": True}, "topic_created", 12, None),
    ({"forum_topic_closed": {}, "message_thread_id": 7, "is_topic_message": True}, "topic_closed", 7, None),
    ({"forum_topic_reopened": {}, "message_thread_id": 7, "is_topic_message": True}, "topic_reopened", 7, None),
    ({"forum_topic_edited": {"name": "x"}, "message_thread_id": 7, "is_topic_message": True}, "topic_edited", 7,
     None),
])
def test_a_message_in_a_topic_carries_its_thread_and_topic_service_messages_are_named(fields, content_type,
                                                                                     thread_id, reply_to):
    event = parse_update(_message(**fields))
    assert (event.content_type, event.thread_id, event.reply_to_message_id) == (content_type, thread_id, reply_to)


def test_a_topic_recreated_inbox_row_becomes_the_event():
    row = InboxRow(1, None, "topic_recreated", json.dumps({"chat_id": 900, "dialog_id": 3}), 0)
    assert decode(row) == TopicRecreated(chat_id=900, dialog_id=3)
