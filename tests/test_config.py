"""Settings: defaults, overrides, and one clear error per bad key."""
from __future__ import annotations

from pathlib import Path

import pytest

from supportbot.config import PROJECT_DIR, ConfigError, load_config

BASE = {"TELEGRAM_BOT_TOKEN": "123456:ABC-def", "OPERATOR_PINS": "1111, 2222"}


def test_defaults():
    config = load_config(BASE)
    assert config.pins == ("1111", "2222")
    assert config.database_path == PROJECT_DIR / "data" / "support.db"
    assert (config.operator_chat_limit, config.history_limit, config.cooldown_seconds) == (3, 20, 600)
    assert config.protect_content is True
    assert config.api_url == "https://api.telegram.org"
    assert "ABC" not in repr(config) and "1111" not in repr(config)


def test_values_and_paths():
    config = load_config({**BASE, "DATABASE_URL": "sqlite:////srv/shop/support.db", "PROTECT_CONTENT": "false",
                          "AUTO_REPLY_COOLDOWN_MINUTES": "0,5", "FAQ_PATH": "faq/other.csv",
                          "TELEGRAM_API_URL": "http://127.0.0.1:8081/", "AUTO_REPLY_QUEUED": "Место: {position}"})
    assert config.database_path == Path("/srv/shop/support.db")
    assert config.protect_content is False
    assert config.cooldown_seconds == 30
    assert config.faq_path == PROJECT_DIR / "faq" / "other.csv"
    assert config.api_url == "http://127.0.0.1:8081"
    assert config.queued_reply == "Место: {position}"


def test_experience_settings():
    config = load_config({**BASE, "WORKING_HOURS": "Mon-Fri 09:00-18:00", "TIMEZONE": "Europe/Moscow",
                          "WAIT_ALERT_MINUTES": "0.5", "OPERATOR_IDLE_MINUTES": "15", "CSAT_ENABLED": "no"})
    assert len(config.working_hours.windows) == 5 and str(config.timezone) == "Europe/Moscow"
    assert (config.wait_alert_seconds, config.operator_idle_seconds, config.csat_enabled) == (30, 900, False)
    assert load_config(BASE).working_hours.always_open


@pytest.mark.parametrize("value, setting", [(None, "auto"), ("on", "on"), ("OFF", "off"), ("Auto", "auto")])
def test_operator_topics(value, setting):
    env = BASE if value is None else {**BASE, "OPERATOR_TOPICS": value}
    assert load_config(env).operator_topics == setting


def test_windows_absolute_database_url_keeps_its_drive():
    config = load_config({**BASE, "DATABASE_URL": "sqlite:////C:/Магазин/support.db"})
    assert str(config.database_path).replace("\\", "/") == "C:/Магазин/support.db"


def test_env_file_saved_as_ansi_is_read(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_bytes("TELEGRAM_BOT_TOKEN=1:a\nOPERATOR_PINS=5555\nAUTO_REPLY_CLOSED=Спасибо!\n".encode("cp1251"))
    for key in ("TELEGRAM_BOT_TOKEN", "OPERATOR_PINS", "AUTO_REPLY_CLOSED"):
        monkeypatch.delenv(key, raising=False)
    assert load_config(env_file=env_file).closed_reply == "Спасибо!"


def test_relative_database_path_is_the_project_folder_not_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config({**BASE, "DATABASE_URL": "sqlite:///./data/x.db"})
    assert config.database_path == PROJECT_DIR / "data" / "x.db"


@pytest.mark.parametrize("key, value", [
    ("TELEGRAM_BOT_TOKEN", ""),
    ("TELEGRAM_BOT_TOKEN", "not-a-token"),
    ("OPERATOR_PINS", ""),
    ("OPERATOR_PINS", "123"),
    ("OPERATOR_PINS", "1111,1111"),
    ("OPERATOR_PINS", "1111,abcd"),
    ("DATABASE_URL", "postgres://x"),
    ("OPERATOR_CHAT_LIMIT", "0"),
    ("OPERATOR_CHAT_LIMIT", "три"),
    ("OPERATOR_CHAT_LIMIT", "²"),
    ("HISTORY_LIMIT", "500"),
    ("AUTO_REPLY_COOLDOWN_MINUTES", "-1"),
    ("AUTO_REPLY_QUEUED", "Вы {place}-й"),
    ("FAQ_MIN_SCORE", "2"),
    ("PROTECT_CONTENT", "maybe"),
    ("TELEGRAM_API_URL", "api.telegram.org"),
    ("LOG_LEVEL", "LOUD"),
    ("WORKING_HOURS", "будни с 9 до 6"),
    ("TIMEZONE", "Mars/Olympus"),
    ("AUTO_REPLY_OFF_HOURS", "Откроемся {when}"),
    ("FLOOD_MAX_MESSAGES", "0"),
    ("WAIT_ALERT_MINUTES", "-5"),
    ("OPERATOR_IDLE_MINUTES", "вечно"),
    ("CSAT_ENABLED", "может быть"),
    ("OPERATOR_TOPICS", "да"),
])
def test_bad_values_name_their_key(key, value):
    with pytest.raises(ConfigError) as error:
        load_config({**BASE, key: value})
    assert error.value.key == key
    assert str(error.value).startswith(key)


def test_env_file_is_read_and_real_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("\ufeffTELEGRAM_BOT_TOKEN=1:file\nOPERATOR_PINS=5555\nHISTORY_LIMIT=7\n", encoding="utf-8")
    for key in ("TELEGRAM_BOT_TOKEN", "OPERATOR_PINS", "HISTORY_LIMIT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HISTORY_LIMIT", "9")
    config = load_config(env_file=env_file)
    assert config.token == "1:file" and config.pins == ("5555",) and config.history_limit == 9


def _env_file(tmp_path, monkeypatch, text: str, encoding: str = "utf-8") -> Path:
    """A .env with `text`, saved as Notepad would in `encoding`; the real environment cleared of its keys."""
    env_file = tmp_path / ".env"
    env_file.write_bytes(text.encode(encoding))
    for line in text.splitlines():
        if "=" in line:
            monkeypatch.delenv(line.split("=", 1)[0].strip(), raising=False)
    return env_file


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "utf-8", "cp1251"])
def test_env_file_in_every_encoding_notepad_saves(tmp_path, monkeypatch, encoding):
    text = "TELEGRAM_BOT_TOKEN=1:a\r\nOPERATOR_PINS=5555\r\nAUTO_REPLY_CLOSED=Спасибо, до встречи!\r\n"
    if encoding == "utf-16-be":
        raw = b"\xfe\xff" + text.encode("utf-16-be")  # "Юникод big endian" writes its BOM too
        env_file = tmp_path / ".env"
        env_file.write_bytes(raw)
        for key in ("TELEGRAM_BOT_TOKEN", "OPERATOR_PINS", "AUTO_REPLY_CLOSED"):
            monkeypatch.delenv(key, raising=False)
    else:
        env_file = _env_file(tmp_path, monkeypatch, text, encoding)
    config = load_config(env_file=env_file)
    assert (config.token, config.pins, config.closed_reply) == ("1:a", ("5555",), "Спасибо, до встречи!")
    assert config.warnings == ()


def test_a_hash_in_an_unquoted_text_is_kept_whole(tmp_path, monkeypatch):
    env_file = _env_file(tmp_path, monkeypatch, "TELEGRAM_BOT_TOKEN=1:a\nOPERATOR_PINS=5555\n"
                         "AUTO_REPLY_GREETING=Магазин — #1 в городе\n"
                         'AUTO_REPLY_CLOSED="Спасибо! #2"\n')
    config = load_config(env_file=env_file)
    assert config.greeting == "Магазин — #1 в городе"
    assert config.closed_reply == "Спасибо! #2"
    assert config.warnings == ()


def test_a_hash_that_cuts_another_value_is_warned_about_by_key(tmp_path, monkeypatch):
    env_file = _env_file(tmp_path, monkeypatch, "TELEGRAM_BOT_TOKEN=1:secret #x\nOPERATOR_PINS=5555\n"
                         "FAQ_PATH=data/faq #2.csv\nOPERATOR_CHAT_LIMIT=4\n")
    config = load_config(env_file=env_file)
    assert config.faq_path.name == "faq"  # python-dotenv reads the rest as a comment ...
    token, faq = sorted(config.warnings, key=lambda w: "FAQ_PATH" in w)
    assert "FAQ_PATH" in faq and "«data/faq»" in faq and "кавычки" in faq  # ... so the owner is told
    assert "TELEGRAM_BOT_TOKEN" in token and "secret" not in token  # the token is never echoed


def test_a_misspelt_key_is_warned_about_naming_the_nearest_known_one(tmp_path, monkeypatch):
    env_file = _env_file(tmp_path, monkeypatch, "TELEGRAM_BOT_TOKEN=1:a\nOPERATOR_PINS=5555\n"
                         "OPERATOR_CHAT_LIMT=5\nCOMPLETELY_UNRELATED=1\n")
    config = load_config(env_file=env_file)
    assert config.operator_chat_limit == 3
    limit, unrelated = sorted(config.warnings, key=lambda w: "COMPLETELY" in w)
    assert "OPERATOR_CHAT_LIMT" in limit and "OPERATOR_CHAT_LIMIT" in limit
    assert "COMPLETELY_UNRELATED" in unrelated and "env.example" in unrelated


def test_env_example_filled_in_reads_without_warnings(tmp_path, monkeypatch):
    text = (PROJECT_DIR / "env.example").read_text(encoding="utf-8")
    text = text.replace("TELEGRAM_BOT_TOKEN=\n", "TELEGRAM_BOT_TOKEN=1:a\n")
    text = text.replace("OPERATOR_PINS=\n", "OPERATOR_PINS=5555\n")
    config = load_config(env_file=_env_file(tmp_path, monkeypatch, text))
    assert config.warnings == ()
    assert config.greeting.startswith("Здравствуйте!") and not config.greeting.startswith('"')
