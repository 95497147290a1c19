"""The owner's maintenance commands: check, backup, export, autostart; and the bot's daily backup.

Each `cmd_*` takes the words after its subcommand, talks to the owner in Russian on
stdout/stderr and returns the process exit code: 0 fine, 1 something is wrong,
2 bad arguments or settings. Nothing here prints the bot token. All SQL lives in
storage.py; this module names files, runs checks and formats what it gets back.
`maybe_backup` is the one function the running bot calls.
"""
from __future__ import annotations

import csv
import getpass
import logging
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, tzinfo
from pathlib import Path, PurePath
from typing import Callable, Iterable, TextIO

from . import storage, texts
from .config import PROJECT_DIR, Config, ConfigError, load_config, topics_mode

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

HELP_WORDS = ("-h", "--help", "help")
CHECK_USAGE = "Использование: python -m supportbot check  — проверить настройки, базу данных, связь с Telegram и FAQ"
BACKUP_USAGE = "Использование: python -m supportbot backup  — сделать резервную копию базы данных сейчас"
EXPORT_USAGE = ("Использование: python -m supportbot export [--client НОМЕР] [--since ГГГГ-ММ-ДД] [--out ФАЙЛ.csv]"
                "  — выгрузить переписку в CSV для Excel")
AUTOSTART_USAGE = "Использование: run.bat autostart [on|off]  — включить, выключить или показать автозапуск"

BACKUP_FOLDER = "backups"
EXPORT_FOLDER = "exports"
BACKUP_EVERY = timedelta(days=1)
STAMP_FORMAT = "%Y%m%d-%H%M%S"
_STAMP = re.compile(r"-(\d{8}-\d{6})\.db$")
# A copy interrupted by a crash or a power cut leaves a .part file; one this old is nobody's.
STALE_PART_SECONDS = 24 * 3600

EXPORT_HEADER = ("Время", "№ покупателя", "Имя покупателя", "Username", "От кого", "Автор", "Тип", "Текст")
DIRECTIONS = {"in": "покупатель", "out": "оператор", "bot": "бот", "note": "заметка"}
# Excel runs a cell that starts with one of these as a formula: "+7 999…" would turn into #NAME?,
# "=HYPERLINK(…)" from a customer into a live link. A leading apostrophe keeps it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

TASK_NAME = "supportbot"
TASK_NAMESPACE = "http://schemas.microsoft.com/windows/2004/02/mit/task"


class UsageError(Exception):
    """The owner typed the command wrong; the message (Russian) says what."""


# --- check -------------------------------------------------------------------------------------

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


def pg_dump_lines(where: storage.PostgresUrl, now: datetime) -> list[str]:
    """What `backup` says on PostgreSQL: the server's owner backs it up; the pg_dump command for a copy by hand."""
    dump = f"supportbot-{_local(now).strftime(STAMP_FORMAT)}.dump"
    return [
        f"База данных — PostgreSQL ({where.dbname} на {where.server}): её резервные копии делает тот, кто отвечает"
        " за сервер PostgreSQL; бот сам копий не делает.",
        "Копия вручную (pg_dump входит в PostgreSQL; пароль он спросит сам):",
        f'  pg_dump --format=custom --file={dump} --dbname="{where.without_password()}"',
        "Восстановление в пустую базу:",
        f'  pg_restore --no-owner --dbname="{where.without_password()}" {dump}',
    ]


def _check_telegram(config: Config) -> tuple[bool, str]:
    from .telegram import TelegramClient, classify  # imports telebot: only when asked

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
    from .faq import FaqError, load_faq

    try:
        entries = load_faq(config.faq_path)
    except FaqError as exc:
        return False, f"Файл частых вопросов не читается: {exc}"
    count = len(entries)
    return True, f"FAQ: {count} {_plural(count, 'запись', 'записи', 'записей')} ({config.faq_path})"


def describe_error(exc: BaseException) -> str:
    """An error for the owner, without file names (an internal `.part` name would only confuse)."""
    if isinstance(exc, OSError):
        if getattr(exc, "winerror", None) == 32 or isinstance(exc, PermissionError):
            return "файл занят другой программой или нет прав на запись"
        if exc.errno == 28:
            return "на диске нет места"
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__


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


# --- backup -------------------------------------------------------------------------------------

def _config_with_database(nothing_to_do: str) -> Config | int:
    """The settings, when they load and the database file exists; otherwise the exit code (reason printed)."""
    config = _config_or_none()
    if config is None:
        return EXIT_USAGE
    if config.postgres is None and not config.database_path.is_file():
        print(f"{nothing_to_do}: файла базы данных ещё нет ({config.database_path}). Запустите бота хотя бы раз"
              " или проверьте DATABASE_URL в .env.", file=sys.stderr)
        return EXIT_FAILED
    return config


def cmd_backup(argv: list[str]) -> int:
    """Back the database up now; print the new file's path."""
    if argv:
        return _usage_exit(argv, BACKUP_USAGE)
    config = _config_with_database("Копировать нечего")
    if isinstance(config, int):
        return config
    if config.postgres is not None:
        print("\n".join(pg_dump_lines(config.postgres, datetime.now())))
        return EXIT_OK
    try:
        path = make_backup(config, datetime.now())
    except (sqlite3.Error, OSError) as exc:
        print(f"Не удалось сделать резервную копию в {backup_folder(config)}: {describe_error(exc)}. Проверьте"
              " место на диске и права на папку, затем повторите.", file=sys.stderr)
        return EXIT_FAILED
    print(f"Резервная копия сохранена: {path}")
    print(f"Хранятся последние {config.backup_keep} (BACKUP_KEEP), более старые удаляются.")
    return EXIT_OK


def maybe_backup(config: Config, now: datetime) -> Path | None:
    """Back up when the newest backup is a day old or missing; return the new file, else None.

    `now` is the current time (datetime.now()). Raises sqlite3.Error or OSError when the copy
    fails; the caller logs it and tries again later.
    """
    now = _local(now)
    if config.postgres is not None or not config.database_path.is_file():
        return None  # PostgreSQL is backed up by its server's owner (`backup` prints the pg_dump command)
    # A backup "from the future" (the clock was wrong then) does not count as fresh.
    if any(now - BACKUP_EVERY < taken <= now for taken, _ in list_backups(config)):
        return None
    path = make_backup(config, now)
    log.info("database backed up to %s", path)
    return path


def backup_folder(config: Config) -> Path:
    """Return the folder of backups: backups/ next to the database file."""
    return config.database_path.parent / BACKUP_FOLDER


def list_backups(config: Config) -> list[tuple[datetime, Path]]:
    """Return this database's backups as (time taken, path), oldest first."""
    folder = backup_folder(config)
    prefix = config.database_path.stem + "-"
    found = []
    for path in folder.glob("*.db") if folder.is_dir() else ():
        match = _STAMP.search(path.name)
        if match is None or path.name[: match.start() + 1] != prefix:
            continue
        try:
            found.append((datetime.strptime(match.group(1), STAMP_FORMAT), path))
        except ValueError:
            continue  # digits that are no date: not ours
    return sorted(found)


def make_backup(config: Config, now: datetime) -> Path:
    """Write a consistent copy of the database into the backups folder, then drop the oldest beyond BACKUP_KEEP."""
    folder = backup_folder(config)
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"{config.database_path.stem}-{_local(now).strftime(STAMP_FORMAT)}.db"
    # Written under a temporary name, so a file with the final name is always a whole copy.
    part = dest.with_name(f"{dest.name}.{os.getpid()}.part")
    try:
        storage.backup_to(config.database_path, part)
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    prune_backups(config)
    return dest


def prune_backups(config: Config) -> list[Path]:
    """Delete all but the newest BACKUP_KEEP backups (and abandoned .part files); return what was deleted."""
    doomed = [path for _, path in list_backups(config)[: -config.backup_keep]]
    folder = backup_folder(config)
    cutoff = time.time() - STALE_PART_SECONDS
    doomed += [p for p in folder.glob("*.part") if _mtime(p) < cutoff]
    deleted = []
    for path in doomed:
        try:
            path.unlink()
        except OSError as exc:  # e.g. open in another program on Windows: try again next time
            log.warning("Не удалось удалить старую резервную копию %s (%s): закройте программу, в которой она"
                        " открыта; бот попробует снова при следующей копии.", path, describe_error(exc))
            continue
        deleted.append(path)
    return deleted


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")


def _local(moment: datetime) -> datetime:
    # Backup names are in local time, for the owner; an aware datetime is converted to it.
    return moment if moment.tzinfo is None else moment.astimezone().replace(tzinfo=None)


# --- export ----------------------------------------------------------------------------------------

def cmd_export(argv: list[str]) -> int:
    """Write conversations to a CSV file that Excel opens; print its path and the row count."""
    if any(word in HELP_WORDS for word in argv):
        print(EXPORT_USAGE)
        return EXIT_OK
    try:
        options = _parse_options(argv, ("--client", "--since", "--out"))
        client = _parse_client(options["--client"]) if "--client" in options else None
        since = _parse_date(options["--since"]) if "--since" in options else None
    except UsageError as exc:
        print(f"Ошибка: {exc}\n{EXPORT_USAGE}", file=sys.stderr)
        return EXIT_USAGE
    config = _config_with_database("Выгружать нечего")
    if isinstance(config, int):
        return config
    try:
        customer_id = None
        if client is not None:
            customer_id = storage.find_customer_id(config.database, client)
            if customer_id is None:
                print(f"Покупатель {client} не найден (нужен его номер, как #3, или Telegram id).", file=sys.stderr)
                return EXIT_FAILED
        if "--out" in options:
            out = Path(options["--out"]).resolve()
        else:
            stamp = datetime.now().strftime(STAMP_FORMAT)
            out = _unused(config.database_path.parent / EXPORT_FOLDER / f"export-{stamp}.csv")
            out.parent.mkdir(parents=True, exist_ok=True)
        # Times are the shop's: TIMEZONE when set, else the PC's own zone.
        since_ts = since.replace(tzinfo=config.timezone).timestamp() if since else None
        rows = storage.export_rows(config.database, customer_id, since_ts)
        count = write_export(out, rows, config.timezone)
    except PermissionError as exc:
        print(f"Не удалось записать файл {out}: {describe_error(exc)}. Если он открыт в Excel, закройте его и"
              " повторите.", file=sys.stderr)
        return EXIT_FAILED
    except (sqlite3.Error, OSError) as exc:
        print(f"Не удалось выгрузить переписку: {describe_error(exc)}. Проверьте место на диске и путь --out,"
              " затем повторите; если не выходит, выполните run.bat check.", file=sys.stderr)
        return EXIT_FAILED
    print(f"Выгружено сообщений: {count}")
    print(f"Файл: {out}")
    return EXIT_OK


def write_export(out: Path, rows: Iterable[storage.ExportRow], zone: tzinfo | None = None) -> int:
    """Write export rows as UTF-8-with-BOM, ;-separated CSV into `out`, times in `zone` (None: the PC's);
    return the number of rows."""
    part = out.with_name(out.name + ".part")
    count = 0
    try:
        # utf-8-sig: the BOM tells Excel the file is UTF-8; ";" is the separator Russian Excel expects.
        with open(part, "w", encoding="utf-8-sig", newline="") as file:
            writer = csv.writer(file, delimiter=";")
            writer.writerow(EXPORT_HEADER)
            for row in rows:
                writer.writerow(_export_cells(row, zone))
                count += 1
        os.replace(part, out)  # all or nothing: an old file of that name stays whole on failure
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return count


def _export_cells(row: storage.ExportRow, zone: tzinfo | None) -> list[str]:
    name = " ".join(part for part in (row.first_name, row.last_name) if part)
    return [
        datetime.fromtimestamp(row.created_at, zone).strftime("%Y-%m-%d %H:%M:%S"),
        str(row.customer_id),
        _as_text(name),
        row.username or "",  # without "@": Excel would read "@name" as a formula
        DIRECTIONS.get(row.direction, row.direction),
        _as_text(row.author),
        texts.content_name(row.content_type),
        _as_text(row.body or ""),
    ]


def _unused(path: Path) -> Path:
    # Two exports in one second must not overwrite each other.
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def _as_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _parse_options(argv: list[str], names: tuple[str, ...]) -> dict[str, str]:
    """Read `--name value` / `--name=value` pairs; UsageError on anything else."""
    found: dict[str, str] = {}
    words = iter(argv)
    for word in words:
        name, equals, value = word.partition("=")
        if name not in names:
            raise UsageError(f"непонятный параметр «{word}»")
        if name in found:
            raise UsageError(f"{name} указан дважды")
        if not equals:
            value = next(words, None)
            if value is None or value.startswith("--"):  # `--client --out x`: the value was forgotten
                raise UsageError(f"после {name} нужно значение")
        if not value.strip():
            raise UsageError(f"после {name} нужно значение")
        found[name] = value.strip()
    return found


def _parse_client(value: str) -> int:
    digits = value.removeprefix("#")
    if not (digits.isdigit() and digits.isascii()):
        raise UsageError(f"--client: ожидается номер покупателя (3 или #3) или Telegram id, а указано «{value}»")
    return int(digits)


def _parse_date(value: str) -> datetime:
    for layout in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, layout)
        except ValueError:
            continue
    raise UsageError(f"--since: ожидается дата вида 2024-05-31 (или 31.05.2024), а указано «{value}»")


# --- autostart -------------------------------------------------------------------------------------

Schtasks = Callable[[list[str]], tuple[int, str]]


def cmd_autostart(argv: list[str], *, schtasks: Schtasks | None = None, windows: bool | None = None) -> int:
    """Turn the Task Scheduler autostart on or off, or say whether it is on (Windows)."""
    if len(argv) > 1 or (argv and argv[0].lower() not in ("on", "off")):
        return _usage_exit(argv, AUTOSTART_USAGE)
    if windows is None:
        windows = sys.platform == "win32"
    if not windows:
        print(linux_autostart_help(PROJECT_DIR))
        return EXIT_OK
    run = schtasks or _run_schtasks
    action = argv[0].lower() if argv else "status"
    run_bat = PROJECT_DIR / "run.bat"
    if action == "on":
        return _autostart_on(run, run_bat)
    if action == "off":
        return _autostart_off(run)
    return _autostart_status(run, run_bat)


def _autostart_on(run: Schtasks, run_bat: Path) -> int:
    if "%" in str(run_bat):
        print(f"В пути к папке бота есть знак %, с ним автозапуск не сработает: {run_bat.parent}\n"
              "Переименуйте папку и повторите.", file=sys.stderr)
        return EXIT_FAILED
    user = getpass.getuser()
    with tempfile.TemporaryDirectory(prefix="supportbot-") as folder:
        xml_path = Path(folder) / "task.xml"
        # Task Scheduler reads its XML as UTF-16; the BOM says so.
        xml_path.write_text(task_xml(run_bat, user), encoding="utf-16")
        code, output = run(["/Create", "/TN", TASK_NAME, "/XML", str(xml_path), "/F"])
    if code != 0:
        print(f"Не удалось включить автозапуск (schtasks, код {code}): {output.strip()}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Автозапуск включён: когда {user} входит в Windows, бот запускается сам (свёрнутое окно «supportbot»).")
    print("Выключить: run.bat autostart off")
    return EXIT_OK


def _autostart_off(run: Schtasks) -> int:
    if run(["/Query", "/TN", TASK_NAME])[0] != 0:
        print("Автозапуск и так выключен.")
        return EXIT_OK
    code, output = run(["/Delete", "/TN", TASK_NAME, "/F"])
    if code != 0:
        print(f"Не удалось выключить автозапуск (schtasks, код {code}): {output.strip()}", file=sys.stderr)
        return EXIT_FAILED
    print("Автозапуск выключен. Уже запущенный бот продолжает работать, пока вы не закроете его окно.")
    return EXIT_OK


def _autostart_status(run: Schtasks, run_bat: Path) -> int:
    code, output = run(["/Query", "/TN", TASK_NAME, "/XML"])
    if code != 0:
        print("Автозапуск выключен. Включить: run.bat autostart on")
        return EXIT_OK
    arguments = re.search(r"<Arguments>(.*?)</Arguments>", output, re.DOTALL)
    if arguments and str(run_bat).lower() not in _xml_unescape(arguments.group(1)).lower():
        # The folder was moved or copied: the task still starts the old one.
        print(f"Автозапуск включён, но запускает бота из другой папки: {_xml_unescape(arguments.group(1))}\n"
              "Чтобы запускался этот, выполните здесь: run.bat autostart on")
        return EXIT_FAILED
    print(f"Автозапуск включён: бот запускается при входе в Windows ({run_bat}).")
    print("Выключить: run.bat autostart off")
    return EXIT_OK


def task_xml(run_bat: PurePath, user: str) -> str:
    """Return the Task Scheduler definition that starts run.bat, minimised, when `user` logs on."""
    ET.register_namespace("", TASK_NAMESPACE)

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{TASK_NAMESPACE}}}{tag}", attrs)
        element.text = text
        return element

    task = ET.Element(f"{{{TASK_NAMESPACE}}}Task", {"version": "1.2"})
    add(add(task, "RegistrationInfo"), "Description", f"supportbot: бот поддержки магазина ({run_bat})")
    trigger = add(add(task, "Triggers"), "LogonTrigger")
    add(trigger, "Enabled", "true")
    # A trigger for this user only: registering it needs no administrator rights (one for "any user" does).
    add(trigger, "UserId", user)
    add(trigger, "Delay", "PT30S")  # let the network come up first
    principal = add(add(task, "Principals"), "Principal", id="Author")
    add(principal, "UserId", user)
    add(principal, "LogonType", "InteractiveToken")
    add(principal, "RunLevel", "LeastPrivilege")
    settings = add(task, "Settings")
    for tag, value in (
        ("MultipleInstancesPolicy", "IgnoreNew"),
        # schtasks' defaults would not start the bot on a laptop running on battery, and would
        # stop the task after 72 hours; the bot runs for months.
        ("DisallowStartIfOnBatteries", "false"),
        ("StopIfGoingOnBatteries", "false"),
        ("ExecutionTimeLimit", "PT0S"),
        ("AllowStartOnDemand", "true"),
        ("Enabled", "true"),
        ("Hidden", "false"),
        ("Priority", "5"),  # normal; the default 7 would run the bot below normal priority
    ):
        add(settings, tag, value)
    exec_ = add(add(task, "Actions", Context="Author"), "Exec")
    add(exec_, "Command", "cmd.exe")
    # `start /min` opens run.bat in its own minimised window; `call "…"` keeps spaces, Cyrillic letters
    # and & in the path intact.
    add(exec_, "Arguments", f'/c start "supportbot" /min cmd.exe /c call "{run_bat}"')
    add(exec_, "WorkingDirectory", str(run_bat.parent))
    body = ET.tostring(task, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-16"?>\n' + body + "\n"


def linux_autostart_help(project_dir: Path) -> str:
    """Explain how to start the bot with the computer on Linux/macOS (systemd user service or cron)."""
    folder = str(project_dir).replace("%", "%%")  # systemd reads % as a specifier
    return (
        "Автозапуск через Планировщик заданий есть только в Windows. На Linux — служба systemd\n"
        "пользователя: сохраните эти строки в файл ~/.config/systemd/user/supportbot.service\n"
        "\n"
        "[Unit]\n"
        "Description=supportbot\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        f"WorkingDirectory={folder}\n"
        f'ExecStart="{folder}/run.sh"\n'
        "Restart=on-failure\n"
        "RestartPreventExitStatus=2 5\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
        "\n"
        "затем выполните:\n"
        "  systemctl --user daemon-reload\n"
        "  systemctl --user enable --now supportbot\n"
        "  loginctl enable-linger $USER    # чтобы бот работал и без входа в систему\n"
        "Журнал: journalctl --user -u supportbot; выключить: systemctl --user disable --now supportbot\n"
        "\n"
        "Без systemd (и на macOS) — строка для crontab -e:\n"
        f"  @reboot cd '{project_dir}' && ./run.sh >/dev/null 2>&1"
    )


def _run_schtasks(args: list[str]) -> tuple[int, str]:
    try:
        proc = subprocess.run(["schtasks", *args], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    return proc.returncode, _console_text(proc.stdout + proc.stderr)


def _console_text(raw: bytes) -> str:
    # schtasks writes UTF-16 (/XML) or the console's OEM code page, depending on what it prints.
    if b"\x00" in raw:
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for encoding in ("oem", "cp866"):  # "oem" exists only on Windows
        try:
            return raw.decode(encoding, errors="replace")
        except LookupError:
            continue
    return raw.decode("latin-1")


def _xml_unescape(text: str) -> str:
    return text.replace("&quot;", '"').replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&amp;", "&")


# --- shared ------------------------------------------------------------------------------------------

def _config_or_none() -> Config | None:
    try:
        return load_config()
    except ConfigError as exc:
        print(f"Ошибка в настройках (.env): {exc}. Исправьте {exc.key} в файле .env и запустите снова.",
              file=sys.stderr)
        return None


def _usage_exit(argv: list[str], usage: str) -> int:
    if argv and argv[0] in HELP_WORDS:
        print(usage)
        return EXIT_OK
    print(f"Ошибка: непонятные параметры «{' '.join(argv)}»\n{usage}", file=sys.stderr)
    return EXIT_USAGE
