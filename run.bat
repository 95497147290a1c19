@echo off
rem Start supportbot on Windows: double-click this file.
rem Creates .venv on first run, installs requirements when they change,
rem creates .env from env.example (and opens Notepad), then runs the bot,
rem restarting it after a crash with a growing pause.
rem With arguments it runs one command of the bot and exits with its code:
rem   run.bat check, run.bat backup, run.bat export [...], run.bat autostart [on/off]
rem "autostart on" registers a Task Scheduler task (for this Windows user, no
rem administrator rights needed) that opens this file minimised at logon; the
rem task is built by "python -m supportbot autostart" (supportbot/ops.py), which
rem quotes paths with spaces and Cyrillic letters correctly.
chcp 65001 >nul
setlocal EnableExtensions
cd /d "%~dp0"
title supportbot

set "PY="
py -3 -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" >nul 2>&1 && set "PY=py -3"
if not defined PY (
  python -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" >nul 2>&1 && set "PY=python"
)
if not defined PY (
  echo Не найден Python 3.11 или новее.
  echo Скачайте его с https://www.python.org/downloads/ и при установке отметьте "Add python.exe to PATH".
  pause
  exit /b 1
)

if not exist ".venv\Scripts\python.exe" (
  echo Создаю виртуальное окружение .venv ...
  %PY% -m venv .venv || goto :failed
)
fc /b requirements.txt ".venv\requirements.installed" >nul 2>&1
if errorlevel 1 (
  echo Устанавливаю зависимости ...
  ".venv\Scripts\python.exe" -m pip install --disable-pip-version-check -q -r requirements.txt || goto :failed
  copy /y requirements.txt ".venv\requirements.installed" >nul
)

if not exist ".env" (
  copy env.example .env >nul
  echo Создан файл .env. Впишите в него TELEGRAM_BOT_TOKEN и OPERATOR_PINS, сохраните и запустите run.bat снова.
  start "" notepad ".env"
  pause
  exit /b 0
)

rem A command (check, backup, export, autostart, faq) runs once, outside any
rem ( ) block: inside one, the exit code would be read before python runs.
if not "%~1"=="" goto :command

set /a PAUSE_SECONDS=5
:loop
title supportbot - работает
".venv\Scripts\python.exe" -m supportbot
set "CODE=%errorlevel%"
if "%CODE%"=="0" exit /b 0
if "%CODE%"=="2" goto :stopped
if "%CODE%"=="3" goto :stopped
if "%CODE%"=="4" goto :stopped
title supportbot - перезапуск
echo Бот остановился с ошибкой (код %CODE%). Перезапуск через %PAUSE_SECONDS% с ...
timeout /t %PAUSE_SECONDS% /nobreak >nul
set /a PAUSE_SECONDS=PAUSE_SECONDS*2
if %PAUSE_SECONDS% gtr 300 set /a PAUSE_SECONDS=300
goto :loop

:stopped
title supportbot - остановлен
echo Бот не запущен (код %CODE%): см. сообщение выше.
pause
exit /b %CODE%

:command
".venv\Scripts\python.exe" -m supportbot %*
exit /b %errorlevel%

:failed
echo Не удалось подготовить окружение: см. сообщение выше.
pause
exit /b 1
