@echo off
rem Start supportbot on Windows: double-click this file.
rem Creates .venv on first run (and again when its Python no longer runs), installs
rem requirements when they change, creates .env from env.example (and opens Notepad),
rem then runs the bot, restarting it after a crash with a growing pause.
rem With arguments it runs one command of the bot and exits with its code:
rem   run.bat check, run.bat backup, run.bat export [...], run.bat autostart [on/off]
rem "autostart on" registers a Task Scheduler task (for this Windows user, no
rem administrator rights needed) that opens this file minimised at logon; the
rem task is built by "python -m supportbot autostart" (supportbot/ops.py), which
rem quotes paths with spaces and Cyrillic letters correctly.
rem Waits use ping, not timeout: timeout fails at once without a console
rem (redirected input, service wrappers). Exit codes are read outside ( ) blocks.
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

rem A .venv made by a Python since upgraded or removed, or copied from another PC, has a
rem python.exe that exists but fails ("No Python at ..."): probe it, rebuild it when it fails.
if not exist ".venv\Scripts\python.exe" goto :make_venv
".venv\Scripts\python.exe" -c "import sys" >nul 2>&1
if not errorlevel 1 goto :venv_ready
echo Окружение .venv не запускается (Python обновили или удалили, или папку перенесли с другого компьютера).
echo Пересоздаю .venv, это займёт минуту-другую ...
call :log "окружение .venv не запускалось, пересоздаю его"
rmdir /s /q ".venv" >nul 2>&1
if exist ".venv" goto :venv_locked
:make_venv
echo Создаю виртуальное окружение .venv ...
%PY% -m venv .venv || goto :failed
:venv_ready
fc /b requirements.txt ".venv\requirements.installed" >nul 2>&1
if errorlevel 1 (
  echo Устанавливаю зависимости ...
  ".venv\Scripts\python.exe" -m pip install --disable-pip-version-check -q -r requirements.txt || goto :failed
  copy /y requirements.txt ".venv\requirements.installed" >nul
)
rem DATABASE_URL=postgresql://... in .env, or a move there (migrate-db): the PostgreSQL driver too.
if /i "%~1"=="migrate-db" goto :pg_wanted
if not exist ".env" goto :pg_ready
findstr /r /i /c:"^ *DATABASE_URL *= *postgres" /c:"^ *DATABASE_URL *= *.postgres" ".env" >nul 2>&1
if errorlevel 1 goto :pg_ready
:pg_wanted
fc /b requirements-postgres.txt ".venv\requirements-postgres.installed" >nul 2>&1
if not errorlevel 1 goto :pg_ready
echo Устанавливаю драйвер PostgreSQL ...
".venv\Scripts\python.exe" -m pip install --disable-pip-version-check -q -r requirements-postgres.txt || goto :failed
copy /y requirements-postgres.txt ".venv\requirements-postgres.installed" >nul
:pg_ready

rem "run.bat test" runs the test suite (no .env needed); it exits with pytest's code.
if /i "%~1"=="test" goto :tests

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

rem Exit codes: 0 stopped on purpose; 2 settings error and 5 damaged database stop here
rem (restarting cannot help); 3 another copy and 4 rejected token wait a few minutes and
rem try again (the owner may fix .env, the other copy may stop); anything else is a crash:
rem restart after a pause that grows from 5 s to 300 s and starts over after a healthy run (10 min).
set /a PAUSE_SECONDS=5
set /a RETRY_SECONDS=300
set /a HEALTHY_SECONDS=600
:loop
title supportbot - работает
echo Веб-панель (если PANEL_ENABLED не false): http://127.0.0.1:8080 (адрес: PANEL_HOST и PANEL_PORT в .env)
call :now
set /a STARTED=NOW
".venv\Scripts\python.exe" -m supportbot
set "CODE=%errorlevel%"
if "%CODE%"=="0" exit /b 0
if "%CODE%"=="2" goto :stopped
if "%CODE%"=="5" goto :stopped
if "%CODE%"=="3" goto :another_copy
if "%CODE%"=="4" goto :token_rejected
call :now
set /a RAN=NOW-STARTED
if %RAN% lss 0 set /a RAN+=86400
if %RAN% geq %HEALTHY_SECONDS% set /a PAUSE_SECONDS=5
title supportbot - сбой (код %CODE%), перезапуск через %PAUSE_SECONDS% с
echo Бот остановился с ошибкой (код %CODE%). Перезапуск через %PAUSE_SECONDS% с ...
call :log "бот остановился с ошибкой (код %CODE%), перезапуск через %PAUSE_SECONDS% с"
call :wait %PAUSE_SECONDS%
set /a PAUSE_SECONDS=PAUSE_SECONDS*2
if %PAUSE_SECONDS% gtr 300 set /a PAUSE_SECONDS=300
goto :loop

:another_copy
set "WHY=уже работает другая копия бота с этим токеном или этой базой (код 3)"
goto :retry_later
:token_rejected
set "WHY=Telegram не принял токен (код 4): впишите верный TELEGRAM_BOT_TOKEN в .env"
:retry_later
title supportbot - ждёт: %WHY%; повтор через 5 мин
echo %WHY%. Повтор через 5 минут; закройте окно, чтобы не ждать.
call :log "%WHY%; повтор через 5 минут"
call :wait %RETRY_SECONDS%
goto :loop

:stopped
title supportbot - остановлен (код %CODE%)
echo Бот не запущен (код %CODE%): см. сообщение выше.
call :log "бот не запущен (код %CODE%), см. строку выше; run.bat не перезапускает его"
pause
exit /b %CODE%

:command
".venv\Scripts\python.exe" -m supportbot %*
exit /b %errorlevel%

:tests
".venv\Scripts\python.exe" -m pip install --disable-pip-version-check -q -r tests\requirements-browser.txt -r requirements-postgres.txt || goto :failed
".venv\Scripts\python.exe" -m pytest -q
exit /b %errorlevel%

:venv_locked
echo Не удалось удалить папку .venv: закройте программы, которые её используют (другое окно бота), и запустите run.bat снова.
pause
exit /b 1

:failed
echo Не удалось подготовить окружение: см. сообщение выше.
pause
exit /b 1

rem --- subroutines -----------------------------------------------------------

:wait
rem About one second per ping after the first; works without a console, unlike timeout.
set /a PINGS=%~1+1
ping -n %PINGS% 127.0.0.1 >nul
exit /b 0

:now
rem Seconds since midnight from %time% (" 9:05:03,12" or "09:05:03.12").
set "T=%time: =0%"
set /a NOW=(1%T:~0,2%-100)*3600+(1%T:~3,2%-100)*60+(1%T:~6,2%-100)
exit /b 0

:log
rem One line in the bot's log, so an unattended window's story can be read afterwards.
if not exist "data\logs" mkdir "data\logs" >nul 2>&1
>>"data\logs\supportbot.log" echo %date% %time% WARNING run.bat: %~1
exit /b 0
