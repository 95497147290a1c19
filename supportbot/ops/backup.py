"""`backup`, and the bot's own daily backup with its pruning."""
from __future__ import annotations

import logging
import os
import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path

from .. import storage
from ..config import Config
from .common import (_local, describe_error, BACKUP_EVERY, BACKUP_FOLDER, BACKUP_USAGE, EXIT_FAILED, EXIT_OK, EXIT_USAGE,
    STALE_PART_SECONDS, STAMP_FORMAT, _STAMP, _config_or_none, _usage_exit)

log = logging.getLogger(__name__)


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
