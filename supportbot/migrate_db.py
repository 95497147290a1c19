"""`python -m supportbot migrate-db --to postgresql://…`: move the shop's SQLite database to PostgreSQL.

Talks to the owner in Russian and returns the exit code (0 copied, 1 not copied, 2 bad arguments or
settings). The SQLite file is only read; the bot must be stopped (its lock is taken for the copy),
so no message arrives after the snapshot. The password is never printed.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .config import ConfigError, load_config
from .storage import InstanceLock
from .storage.postgres import DRIVER_HINT, PostgresUrl, driver_available, is_postgres_url

USAGE = ("Использование: python -m supportbot migrate-db --to postgresql://пользователь:пароль@сервер:5432/база"
         " [--from ФАЙЛ.db]  — перенести базу SQLite в пустую базу PostgreSQL")


def cmd_migrate_db(argv: list[str], out=sys.stdout, err=sys.stderr) -> int:
    """Copy the SQLite database into an empty PostgreSQL database and say which .env line to change."""
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, file=out if argv else err)
        return 0 if argv else 2
    options = dict(zip(argv[::2], argv[1::2]))
    if len(argv) % 2 or set(options) - {"--to", "--from"} or "--to" not in options:
        print(USAGE, file=err)
        return 2
    if not is_postgres_url(options["--to"]):
        print(f"Ошибка: --to должен начинаться с postgresql://.\n{USAGE}", file=err)
        return 2
    if not driver_available():
        print(f"Ошибка: {DRIVER_HINT}.", file=err)
        return 2
    try:
        target = PostgresUrl.parse(options["--to"])
    except ValueError:
        print(f"Ошибка: в адресе --to нет имени базы.\n{USAGE}", file=err)
        return 2
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"Ошибка в настройках (.env): {exc}. Исправьте {exc.key} в файле .env и запустите снова.", file=err)
        return 2
    if "--from" in options:
        source = Path(options["--from"]).resolve()
    elif config.postgres is None:
        source = config.database_path
    else:
        print("В .env уже указан PostgreSQL (DATABASE_URL). Укажите файл SQLite: --from data/support.db", file=err)
        return 2
    if not source.is_file():
        print(f"Нет файла базы SQLite {source}: переносить нечего.", file=err)
        return 1
    lock = InstanceLock(source.with_name(source.name + ".lock"))
    if not lock.acquire():
        print("Бот сейчас работает с этой базой: остановите его (закройте окно бота) и повторите перенос.", file=err)
        return 1
    try:
        return _copy(source, target, out, err)
    finally:
        lock.release()


def _copy(source: Path, target: PostgresUrl, out, err) -> int:
    from .storage.transfer import CountMismatch, TargetNotEmpty, copy_sqlite_to_postgres

    print(f"Переношу {source} в {target} ...", file=out, flush=True)
    try:
        counts = copy_sqlite_to_postgres(source, target)
    except TargetNotEmpty as exc:
        print(f"База {target.dbname} на {target.server} не пуста (таблицы: {', '.join(exc.tables[:5])}"
              f"{' …' if len(exc.tables) > 5 else ''}). Перенос делается только в пустую базу: создайте новую"
              " (CREATE DATABASE) и укажите её в --to.", file=err)
        return 1
    except CountMismatch as exc:
        print(f"Перенос отменён: число строк не совпало ({exc}). База PostgreSQL осталась пустой; файл SQLite"
              " не изменён. Сообщите разработчику.", file=err)
        return 1
    except Exception as exc:  # noqa: BLE001 - psycopg's own errors too: one line, password cut out
        text = target.redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        print(f"Перенос не удался: {text}. Файл SQLite не изменён; проверьте адрес, пароль и что сервер"
              " PostgreSQL запущен, затем повторите.", file=err)
        return 1
    total = sum(counts.values())
    print(f"Скопировано строк: {total} ({', '.join(f'{t} {n}' for t, n in counts.items() if n)}); число строк"
          " в каждой таблице проверено.", file=out)
    print("Теперь в файле .env замените строку DATABASE_URL на:", file=out)
    print(f"DATABASE_URL={target}" + ("   (вместо *** — ваш пароль)" if target.password else ""), file=out)
    print(f"Файл {source} не изменён: сохраните его как резервную копию.", file=out)
    return 0
