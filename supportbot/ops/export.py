"""`export`: the conversations as a CSV that Excel opens (BOM, `;`)."""
from __future__ import annotations

import csv
import logging
import os
import sqlite3
import sys
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Iterable

from .. import storage, texts
from .backup import _config_with_database
from .common import (describe_error, DIRECTIONS, EXIT_FAILED, EXIT_OK, EXIT_USAGE, EXPORT_FOLDER, EXPORT_HEADER, EXPORT_USAGE,
    HELP_WORDS, STAMP_FORMAT, UsageError, _FORMULA_START)

log = logging.getLogger(__name__)


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
