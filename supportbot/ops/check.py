"""`check`: settings, the database, Telegram, the FAQ — one line each, and what to do."""
from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path
from typing import TextIO

from .. import storage, texts
from ..config import Config, ConfigError, load_config, topics_mode
from .common import BACKUP_FOLDER, CHECK_USAGE, EXIT_FAILED, EXIT_OK, EXIT_USAGE, _usage_exit

log = logging.getLogger(__name__)


def cmd_check(argv: list[str]) -> int:
    """Check settings, database, Telegram and FAQ; print one ✓/✗ line each."""
    if argv:
        return _usage_exit(argv, CHECK_USAGE)
    out = sys.stdout
    good, bad = _marks(out)
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"{bad} Настройки (.env): {exc}", file=out)
        print(f"Исправьте {exc.key} в файле .env и запустите проверку снова.", file=out)
        return EXIT_USAGE
    print(f"{good} Настройки (.env): прочитаны, линий операторов (PIN-кодов): {len(config.pins)}", file=out)
    for warning in config.warnings:  # odd but not fatal: the bot starts, the owner should still look
        print(f"! {warning}", file=out)
    all_good = True
    for check in (_check_database, _check_telegram, _check_faq):
        ok, line = check(config)
        all_good = all_good and ok
        print(_redact(f"{good if ok else bad} {line}", config.token), file=out, flush=True)
    print("Всё в порядке." if all_good else f"Есть проблемы: см. строки с {bad}.", file=out)
    return EXIT_OK if all_good else EXIT_FAILED


RESTORE_HINT = ("восстановите резервную копию из папки {backups} (как — в README, раздел «Резервные копии»:"
                " «Как восстановить базу из копии»)")


def damaged_database_line(path: Path, problem: object) -> str:
    """The owner's one line about a damaged database file: what is wrong and what to do (the bot logs it too)."""
    backups = path.parent / BACKUP_FOLDER
    return (f"База данных {path} повреждена или это не файл базы ({problem}). Бот не запустится с ней:"
            f" остановите его и {RESTORE_HINT.format(backups=backups)}.")


def newer_database_line(path: Path, version: int) -> str:
    """The owner's one line about a database written by a newer version of the bot."""
    return (f"База данных {path} создана более новой версией бота (схема {version}). Установите новую версию"
            f" бота или {RESTORE_HINT.format(backups=path.parent / BACKUP_FOLDER)}.")


def _check_database(config: Config) -> tuple[bool, str]:
    if config.postgres is not None:
        return _check_postgres(config.postgres)
    path = config.database_path
    if not path.exists():
        return True, f"База данных: файла ещё нет, бот создаст его при первом запуске ({path})"
    try:
        result = storage.integrity_check(path)
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return False, f"База данных {path} занята другой программой: закройте её и повторите проверку."
        return False, damaged_database_line(path, exc)
    except OSError as exc:
        return False, (f"Файл базы данных {path} не открывается ({exc.strerror or type(exc).__name__}):"
                       " проверьте права на папку data.")
    if result != "ok":
        return False, damaged_database_line(path, result.splitlines()[0])
    return True, f"База данных: в порядке, {_megabytes(path.stat().st_size)} ({path})"


def _check_postgres(where: storage.PostgresUrl) -> tuple[bool, str]:
    """The database line of `check` on PostgreSQL: server, its version, the schema version."""
    try:
        version, schema, active = storage.postgres_status(where)
    except sqlite3.Error as exc:
        return False, (f"База данных PostgreSQL на {where.server} недоступна ({where.redact(str(exc).splitlines()[0])})."
                       " Проверьте, что сервер запущен, и адрес, пользователя и пароль в DATABASE_URL.")
    known = len(storage.MIGRATIONS)
    if schema > known:
        return False, (f"База данных PostgreSQL {where.dbname} на {where.server} создана более новой версией бота"
                       f" (схема {schema}, эта версия знает {known}): установите новую версию бота.")
    state = "таблиц ещё нет, бот создаст их при первом запуске" if schema == 0 else f"схема {schema} из {known}"
    copy = f"активная копия бота: {active}" if active else "активной копии бота сейчас нет"
    return True, f"База данных: PostgreSQL {version} на {where.server}, база {where.dbname}, {state}; {copy}"


def _check_telegram(config: Config) -> tuple[bool, str]:
    from ..telegram import TelegramClient, classify  # imports telebot: only when asked

    try:
        me = TelegramClient(config.token, config.api_url, config.protect_content).get_me()
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line for the owner
        try:
            failure = classify(exc)
        except Exception:  # noqa: BLE001 - classify re-raises what it does not know
            return False, (f"Telegram: непредвиденная ошибка {type(exc).__name__}. Повторите проверку; если она"
                           " повторяется, сообщите разработчику.")
        if failure.kind == "unauthorized":
            return False, "Telegram не принял токен: проверьте TELEGRAM_BOT_TOKEN (его выдаёт @BotFather)"
        if failure.kind == "network":
            return False, f"Telegram: нет связи с {config.api_url} ({failure.description}). Проверьте интернет."
        return False, (f"Telegram ответил ошибкой ({failure.description}). Повторите проверку через несколько"
                       " минут; бот в это время повторяет попытки сам.")
    line = f"Telegram: бот @{me.get('username', '?')} на связи"
    mode = topics_mode(config.operator_topics, bool(me.get("has_topics_enabled")))
    if mode is None:
        return False, f"{line}, но {texts.TOPICS_REQUIRED[0].lower()}{texts.TOPICS_REQUIRED[1:]}"
    if mode:
        return True, f"{line}; режим тем: у каждого покупателя своя тема в чате оператора"
    if config.operator_topics == "off":
        return True, f"{line}; режим тем выключен (OPERATOR_TOPICS=off): все покупатели в одном чате оператора"
    return True, (f"{line}; режим тем не включён: все покупатели в одном чате оператора. Чтобы у каждого покупателя"
                  f" была своя тема, {texts.TOPICS_HOW_TO_ENABLE}")


def _check_faq(config: Config) -> tuple[bool, str]:
    from ..faq import FaqError, load_faq

    try:
        entries = load_faq(config.faq_path)
    except FaqError as exc:
        return False, f"Файл частых вопросов не читается: {exc}"
    count = len(entries)
    return True, f"FAQ: {count} {_plural(count, 'запись', 'записи', 'записей')} ({config.faq_path})"


def _marks(stream: TextIO) -> tuple[str, str]:
    # A console that cannot show ✓/✗ (cp866) gets plain signs rather than "?".
    encoding = getattr(stream, "encoding", None) or "ascii"
    for good, bad in (("✓", "✗"), ("+", "x")):
        try:
            (good + bad).encode(encoding)
        except (UnicodeEncodeError, LookupError):
            continue
        return good, bad
    return "+", "x"


def _redact(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} МБ".replace(".", ",")


def _plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many
