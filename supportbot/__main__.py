"""Command line: `python -m supportbot` runs the bot; subcommands test the FAQ and serve the owner
(check, backup, export, autostart: see ops.py)."""
from __future__ import annotations

import sys

USAGE = """Использование (вместо «python -m supportbot» можно писать run.bat или ./run.sh):
  python -m supportbot            запустить бота
  python -m supportbot panel      только веб-панель (бот работает в другом окне с той же базой)
  python -m supportbot check      проверить настройки, базу данных, связь с Telegram и FAQ
  python -m supportbot backup     сделать резервную копию базы данных сейчас
  python -m supportbot export [--client НОМЕР] [--since ГГГГ-ММ-ДД] [--out ФАЙЛ.csv]
                                  выгрузить переписку в CSV для Excel
  python -m supportbot autostart [on|off]
                                  автозапуск при входе в Windows: включить, выключить, показать
  python -m supportbot migrate-db --to postgresql://пользователь:пароль@сервер:5432/база
                                  перенести базу SQLite в пустую базу PostgreSQL
  python -m supportbot faq ТЕКСТ  что бот сделает с этим вопросом: три ближайших ответа FAQ и итог
                                  (--batch: по строке из stdin)
  python -m supportbot faq gaps [--since ГГГГ-ММ-ДД] [--csv ФАЙЛ.csv]
                                  вопросы, на которые ответил оператор, а не FAQ: чего не хватает в FAQ
"""


def _utf8_console() -> None:
    # A Windows console may use cp866: never crash on Cyrillic output.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(encoding="utf-8", errors="replace")
        except (AttributeError, ValueError):
            pass


ENABLE_QUICK_EDIT_MODE = 0x0040
ENABLE_EXTENDED_FLAGS = 0x0080  # must be set for a change of QuickEdit to take effect
STD_INPUT_HANDLE = -10


def quickedit_off(kernel32=None) -> bool:
    """Switch the Windows console's QuickEdit mode off; True if it was switched. No console, not Windows: nothing.

    With QuickEdit on, one click in the bot's window starts a selection and every later write to
    the console blocks until Esc: the whole bot freezes, silently. `kernel32` is for tests.
    """
    if kernel32 is None:
        if sys.platform != "win32":
            return False
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.GetStdHandle.restype = wintypes.HANDLE
        kernel32.GetStdHandle.argtypes = [wintypes.DWORD]
        kernel32.GetConsoleMode.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
        kernel32.SetConsoleMode.argtypes = [wintypes.HANDLE, wintypes.DWORD]
        mode = wintypes.DWORD()
        pointer = ctypes.byref(mode)
    else:
        mode = kernel32.Mode()
        pointer = mode
    try:
        handle = kernel32.GetStdHandle(STD_INPUT_HANDLE & 0xFFFFFFFF)
        if not handle or not kernel32.GetConsoleMode(handle, pointer):
            return False  # input is not a console (redirected, a service): nothing to freeze
        if not mode.value & ENABLE_QUICK_EDIT_MODE:
            return False
        return bool(kernel32.SetConsoleMode(handle, (mode.value & ~ENABLE_QUICK_EDIT_MODE) | ENABLE_EXTENDED_FLAGS))
    except (AttributeError, OSError, ValueError):
        return False


def main(argv: list[str] | None = None) -> int:
    """Dispatch a subcommand; return the process exit code."""
    args = sys.argv[1:] if argv is None else argv
    _utf8_console()
    if args and args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if args and args[0] == "faq":
        from .faq import main as faq_main

        return faq_main(args[1:])
    if args and args[0] == "migrate-db":
        from .migrate_db import cmd_migrate_db

        return cmd_migrate_db(args[1:])
    if args and args[0] in ("check", "backup", "export", "autostart"):
        from . import ops

        command = {"check": ops.cmd_check, "backup": ops.cmd_backup, "export": ops.cmd_export,
                   "autostart": ops.cmd_autostart}[args[0]]
        return command(args[1:])
    if args and args != ["panel"]:
        print(USAGE, file=sys.stderr)
        return 2

    from .config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as exc:
        print(f"Ошибка в настройках (.env): {exc}. Исправьте {exc.key} в файле .env и запустите снова.",
              file=sys.stderr)
        return 2
    if args == ["panel"]:
        from .panel.serve import run_panel

        return run_panel(config)
    quickedit_off()
    if config.postgres is not None:  # no file lock: copies share the database as active and standby
        from .active import run_active_or_standby

        return run_active_or_standby(config)
    from .app import run

    return run(config)


if __name__ == "__main__":
    sys.exit(main())
