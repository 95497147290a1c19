"""`autostart`: a Task Scheduler logon task on Windows, a systemd or cron hint elsewhere."""
from __future__ import annotations

import getpass
import logging
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path, PurePath
from typing import Callable

from ..config import PROJECT_DIR
from .common import AUTOSTART_USAGE, EXIT_FAILED, EXIT_OK, TASK_NAME, TASK_NAMESPACE, _usage_exit

log = logging.getLogger(__name__)


Schtasks = Callable[[list[str]], tuple[int, str]]


def cmd_autostart(argv: list[str], *, schtasks: Schtasks | None = None, windows: bool | None = None) -> int:
    """Turn the Task Scheduler autostart on or off, or say whether it is on (Windows)."""
    if len(argv) > 1 or (argv and argv[0].lower() not in ("on", "off")):
        return _usage_exit(argv, AUTOSTART_USAGE)
    if windows is None:
        windows = sys.platform == "win32"
    if not windows:
        print(linux_autostart_help(PROJECT_DIR))
        return EXIT_OK
    run = schtasks or _run_schtasks
    action = argv[0].lower() if argv else "status"
    run_bat = PROJECT_DIR / "run.bat"
    if action == "on":
        return _autostart_on(run, run_bat)
    if action == "off":
        return _autostart_off(run)
    return _autostart_status(run, run_bat)


def _autostart_on(run: Schtasks, run_bat: Path) -> int:
    if "%" in str(run_bat):
        print(f"В пути к папке бота есть знак %, с ним автозапуск не сработает: {run_bat.parent}\n"
              "Переименуйте папку и повторите.", file=sys.stderr)
        return EXIT_FAILED
    user = getpass.getuser()
    with tempfile.TemporaryDirectory(prefix="supportbot-") as folder:
        xml_path = Path(folder) / "task.xml"
        # Task Scheduler reads its XML as UTF-16; the BOM says so.
        xml_path.write_text(task_xml(run_bat, user), encoding="utf-16")
        code, output = run(["/Create", "/TN", TASK_NAME, "/XML", str(xml_path), "/F"])
    if code != 0:
        print(f"Не удалось включить автозапуск (schtasks, код {code}): {output.strip()}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Автозапуск включён: когда {user} входит в Windows, бот запускается сам (свёрнутое окно «supportbot»).")
    print("Выключить: run.bat autostart off")
    return EXIT_OK


def _autostart_off(run: Schtasks) -> int:
    if run(["/Query", "/TN", TASK_NAME])[0] != 0:
        print("Автозапуск и так выключен.")
        return EXIT_OK
    code, output = run(["/Delete", "/TN", TASK_NAME, "/F"])
    if code != 0:
        print(f"Не удалось выключить автозапуск (schtasks, код {code}): {output.strip()}", file=sys.stderr)
        return EXIT_FAILED
    print("Автозапуск выключен. Уже запущенный бот продолжает работать, пока вы не закроете его окно.")
    return EXIT_OK


def _autostart_status(run: Schtasks, run_bat: Path) -> int:
    code, output = run(["/Query", "/TN", TASK_NAME, "/XML"])
    if code != 0:
        print("Автозапуск выключен. Включить: run.bat autostart on")
        return EXIT_OK
    arguments = re.search(r"<Arguments>(.*?)</Arguments>", output, re.DOTALL)
    if arguments and str(run_bat).lower() not in _xml_unescape(arguments.group(1)).lower():
        # The folder was moved or copied: the task still starts the old one.
        print(f"Автозапуск включён, но запускает бота из другой папки: {_xml_unescape(arguments.group(1))}\n"
              "Чтобы запускался этот, выполните здесь: run.bat autostart on")
        return EXIT_FAILED
    print(f"Автозапуск включён: бот запускается при входе в Windows ({run_bat}).")
    print("Выключить: run.bat autostart off")
    return EXIT_OK


def task_xml(run_bat: PurePath, user: str) -> str:
    """Return the Task Scheduler definition that starts run.bat, minimised, when `user` logs on."""
    ET.register_namespace("", TASK_NAMESPACE)

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{TASK_NAMESPACE}}}{tag}", attrs)
        element.text = text
        return element

    task = ET.Element(f"{{{TASK_NAMESPACE}}}Task", {"version": "1.2"})
    add(add(task, "RegistrationInfo"), "Description", f"supportbot: бот поддержки магазина ({run_bat})")
    trigger = add(add(task, "Triggers"), "LogonTrigger")
    add(trigger, "Enabled", "true")
    # A trigger for this user only: registering it needs no administrator rights (one for "any user" does).
    add(trigger, "UserId", user)
    add(trigger, "Delay", "PT30S")  # let the network come up first
    principal = add(add(task, "Principals"), "Principal", id="Author")
    add(principal, "UserId", user)
    add(principal, "LogonType", "InteractiveToken")
    add(principal, "RunLevel", "LeastPrivilege")
    settings = add(task, "Settings")
    for tag, value in (
        ("MultipleInstancesPolicy", "IgnoreNew"),
        # schtasks' defaults would not start the bot on a laptop running on battery, and would
        # stop the task after 72 hours; the bot runs for months.
        ("DisallowStartIfOnBatteries", "false"),
        ("StopIfGoingOnBatteries", "false"),
        ("ExecutionTimeLimit", "PT0S"),
        ("AllowStartOnDemand", "true"),
        ("Enabled", "true"),
        ("Hidden", "false"),
        ("Priority", "5"),  # normal; the default 7 would run the bot below normal priority
    ):
        add(settings, tag, value)
    exec_ = add(add(task, "Actions", Context="Author"), "Exec")
    add(exec_, "Command", "cmd.exe")
    # `start /min` opens run.bat in its own minimised window; `call "…"` keeps spaces, Cyrillic letters
    # and & in the path intact.
    add(exec_, "Arguments", f'/c start "supportbot" /min cmd.exe /c call "{run_bat}"')
    add(exec_, "WorkingDirectory", str(run_bat.parent))
    body = ET.tostring(task, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-16"?>\n' + body + "\n"


def linux_autostart_help(project_dir: Path) -> str:
    """Explain how to start the bot with the computer on Linux/macOS (systemd user service or cron)."""
    folder = str(project_dir).replace("%", "%%")  # systemd reads % as a specifier
    return (
        "Автозапуск через Планировщик заданий есть только в Windows. На Linux — служба systemd\n"
        "пользователя: сохраните эти строки в файл ~/.config/systemd/user/supportbot.service\n"
        "\n"
        "[Unit]\n"
        "Description=supportbot\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        f"WorkingDirectory={folder}\n"
        f'ExecStart="{folder}/run.sh"\n'
        "Restart=on-failure\n"
        "RestartPreventExitStatus=2 5\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
        "\n"
        "затем выполните:\n"
        "  systemctl --user daemon-reload\n"
        "  systemctl --user enable --now supportbot\n"
        "  loginctl enable-linger $USER    # чтобы бот работал и без входа в систему\n"
        "Журнал: journalctl --user -u supportbot; выключить: systemctl --user disable --now supportbot\n"
        "\n"
        "Без systemd (и на macOS) — строка для crontab -e:\n"
        f"  @reboot cd '{project_dir}' && ./run.sh >/dev/null 2>&1"
    )


def _run_schtasks(args: list[str]) -> tuple[int, str]:
    try:
        proc = subprocess.run(["schtasks", *args], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    return proc.returncode, _console_text(proc.stdout + proc.stderr)


def _console_text(raw: bytes) -> str:
    # schtasks writes UTF-16 (/XML) or the console's OEM code page, depending on what it prints.
    if b"\x00" in raw:
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for encoding in ("oem", "cp866"):  # "oem" exists only on Windows
        try:
            return raw.decode(encoding, errors="replace")
        except LookupError:
            continue
    return raw.decode("latin-1")


def _xml_unescape(text: str) -> str:
    return text.replace("&quot;", '"').replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&amp;", "&")
