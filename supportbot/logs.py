"""The bot's log: the console and data/logs/supportbot.log (rotating, UTF-8), never holding the token."""
from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler

from .config import Config
from .telegram import quiet_library_loggers


def setup_logging(config: Config) -> None:
    """Log to the console and to data/logs/supportbot.log (rotating, UTF-8)."""
    log_dir = config.database_path.parent / "logs"
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secret=config.token)
    root = logging.getLogger()
    root.setLevel(config.log_level)
    handlers_: list[logging.Handler] = [logging.StreamHandler()]
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers_.append(RotatingFileHandler(log_dir / "supportbot.log", maxBytes=1_000_000, backupCount=5,
                                             encoding="utf-8"))
    except OSError as exc:  # the console still gets every line
        print(f"Не удаётся писать журнал в {log_dir} ({exc}). Проверьте, что папка доступна для записи.",
              file=sys.stderr)
    for handler in handlers_:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    quiet_library_loggers()


class RedactingFormatter(logging.Formatter):
    """A formatter that never writes the bot token, whatever a library or a traceback puts in a line
    (an HTTP error's URL holds it: /bot<token>/getUpdates)."""

    def __init__(self, fmt: str, secret: str):
        super().__init__(fmt)
        self.secret = secret

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace(self.secret, "***") if self.secret else text
