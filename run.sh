#!/usr/bin/env bash
# Start supportbot on Linux/macOS: venv on first run, requirements when they change, .env from env.example.
# With arguments it runs one command of the bot and exits with its code: ./run.sh check, backup,
# export [...], faq ...; ./run.sh autostart prints a systemd user service (or a crontab line) for this folder.
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

if [ ! -f .env ]; then
  cp env.example .env
  echo "Создан файл .env. Впишите в него TELEGRAM_BOT_TOKEN и OPERATOR_PINS, затем запустите ./run.sh снова."
  exit 0
fi

if [ "${1:-}" != "" ]; then
  exec .venv/bin/python -m supportbot "$@"
fi

# Restart after a crash with a growing pause; not after a clean stop (0),
# a settings error (2), a second copy (3) or a rejected token (4).
pause=5
while true; do
  .venv/bin/python -m supportbot
  code=$?
  case $code in
    0|2|3|4) exit $code ;;
  esac
  echo "Бот остановился с ошибкой (код $code). Перезапуск через $pause с ..." >&2
  sleep "$pause"
  pause=$(( pause * 2 > 300 ? 300 : pause * 2 ))
done
