"""What the owner's commands share: exit codes, usage lines, file names, reading the settings."""
from __future__ import annotations

import logging
import re
import sys
from datetime import datetime, timedelta

from ..config import Config, ConfigError, load_config

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


def _local(moment: datetime) -> datetime:
    # Backup names are in local time, for the owner; an aware datetime is converted to it.
    return moment if moment.tzinfo is None else moment.astimezone().replace(tzinfo=None)


def describe_error(exc: BaseException) -> str:
    """An error for the owner, without file names (an internal `.part` name would only confuse)."""
    if isinstance(exc, OSError):
        if getattr(exc, "winerror", None) == 32 or isinstance(exc, PermissionError):
            return "файл занят другой программой или нет прав на запись"
        if exc.errno == 28:
            return "на диске нет места"
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__
