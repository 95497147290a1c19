#!/usr/bin/env bash
# Start supportbot on Linux/macOS: venv on first run, requirements when they change, .env from env.example.
# With arguments it runs one command of the bot and exits with its code: ./run.sh check, backup,
# export [...], faq ...; ./run.sh test runs the tests; ./run.sh autostart prints a systemd user service (or a crontab line) for this folder.
set -u
cd "$(dirname "$0")" || exit 1

PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    PY=$candidate; break
  fi
done
if [ -z "$PY" ]; then
  echo "Нужен Python 3.11 или новее: https://www.python.org/downloads/ (или пакет python3 вашей системы)." >&2
  exit 1
fi

log_line() {  # one line in the bot's log, so an unattended run's story can be read afterwards
  mkdir -p data/logs 2>/dev/null && printf '%s WARNING run.sh: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$1" >> data/logs/supportbot.log
}

# A .venv whose Python was upgraded or removed, or copied from another machine, fails to run: rebuild it.
if [ -e .venv/bin/python ] && ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
  echo "Окружение .venv не запускается (Python обновили или удалили, или папку перенесли). Пересоздаю .venv ..."
  log_line "окружение .venv не запускалось, пересоздаю его"
  rm -rf .venv || exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Создаю виртуальное окружение .venv ..."
  "$PY" -m venv .venv || exit 1
fi
stamp=.venv/requirements.installed
if ! cmp -s requirements.txt "$stamp"; then
  echo "Устанавливаю зависимости ..."
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt || exit 1
  cp requirements.txt "$stamp"
fi
# DATABASE_URL=postgresql://... in .env, or a move there (migrate-db): the PostgreSQL driver too.
pg_stamp=.venv/requirements-postgres.installed
if { [ "${1:-}" = "migrate-db" ] ||
     { [ -f .env ] && grep -Eiq '^[[:space:]]*DATABASE_URL[[:space:]]*=[[:space:]]*["'"'"']?postgres' .env; }; } &&
   ! cmp -s requirements-postgres.txt "$pg_stamp"; then
  echo "Устанавливаю драйвер PostgreSQL ..."
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements-postgres.txt || exit 1
  cp requirements-postgres.txt "$pg_stamp"
fi

# ./run.sh test: the test suite (no .env needed), with pytest's exit code.
if [ "${1:-}" = "test" ]; then
  shift
  # The tests also need the browser driver and the PostgreSQL driver (their tests skip without a browser/server).
  .venv/bin/python -m pip install --disable-pip-version-check -q -r tests/requirements-browser.txt \
    -r requirements-postgres.txt || exit 1
  exec .venv/bin/python -m pytest -q "$@"
fi

if [ ! -f .env ]; then
  cp env.example .env
  echo "Создан файл .env. Впишите в него TELEGRAM_BOT_TOKEN и OPERATOR_PINS, затем запустите ./run.sh снова."
  exit 0
fi

if [ "${1:-}" != "" ]; then
  exec .venv/bin/python -m supportbot "$@"
fi

# Exit codes: 0 stopped on purpose, 2 settings error, 5 damaged database: stop here (restarting cannot
# help). 3 another copy, 4 rejected token: wait 5 minutes and try again (the owner may fix .env, the
# other copy may stop). Anything else is a crash: restart after a pause growing 5 s -> 300 s, which
# starts over after a healthy run of 10 minutes.
echo "Веб-панель (если PANEL_ENABLED не false): http://127.0.0.1:8080 (адрес: PANEL_HOST и PANEL_PORT в .env)"
pause=5
while true; do
  started=$SECONDS
  .venv/bin/python -m supportbot
  code=$?
  case $code in
    0|2|5) exit $code ;;
    3|4)
      if [ "$code" = 3 ]; then why="уже работает другая копия бота с этим токеном или этой базой (код 3)"
      else why="Telegram не принял токен (код 4): впишите верный TELEGRAM_BOT_TOKEN в .env"; fi
      echo "$why. Повтор через 5 минут (Ctrl+C — не ждать)." >&2
      log_line "$why; повтор через 5 минут"
      sleep 300
      continue ;;
  esac
  if [ $(( SECONDS - started )) -ge 600 ]; then pause=5; fi
  echo "Бот остановился с ошибкой (код $code). Перезапуск через $pause с ..." >&2
  log_line "бот остановился с ошибкой (код $code), перезапуск через $pause с"
  sleep "$pause"
  pause=$(( pause * 2 > 300 ? 300 : pause * 2 ))
done
