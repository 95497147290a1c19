"""The bot must run on the shop's Windows PC: no POSIX-only code, explicit encodings,
any folder name (spaces, Cyrillic letters), and a run.bat that cmd.exe can read."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from tests.botproc import BotProcess

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGE_FILES = sorted((PROJECT_DIR / "supportbot").glob("*.py"))

POSIX_ONLY_MODULES = {"fcntl", "termios", "pwd", "grp", "resource", "posix", "tty", "pty", "crypt", "spwd", "nis",
                      "syslog"}
POSIX_ONLY_NAMES = {
    "os": {"fork", "forkpty", "getuid", "geteuid", "getgid", "getegid", "setuid", "setgid", "getpgid", "setpgid",
           "setsid", "setpgrp", "killpg", "nice", "chown", "lchown", "mkfifo", "uname", "getloadavg", "wait",
           "wait3", "wait4", "WNOHANG", "sync"},
    "signal": {"SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD", "SIGPIPE", "SIGQUIT", "SIGCONT",
               "SIGSTOP", "SIGTSTP", "SIGWINCH", "alarm", "pause", "setitimer", "getitimer", "siginterrupt",
               "pthread_kill", "pthread_sigmask", "sigwait"},
}


def _where(path: Path, node: ast.AST) -> str:
    shown = path.relative_to(PROJECT_DIR) if path.is_relative_to(PROJECT_DIR) else path.name
    return f"{shown}:{node.lineno}"


def posix_only_uses(path: Path) -> list[str]:
    """Name every import or attribute in the file that exists only on POSIX systems."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    aliases: dict[str, str] = {}  # local name -> module, for `import os as _os`
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                aliases[alias.asname or root] = root
                if root in POSIX_ONLY_MODULES:
                    found.append(f"{_where(path, node)}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            root = node.module.split(".")[0]
            if root in POSIX_ONLY_MODULES:
                found.append(f"{_where(path, node)}: from {node.module} import …")
            for alias in node.names:
                if alias.name in POSIX_ONLY_NAMES.get(root, ()):
                    found.append(f"{_where(path, node)}: from {root} import {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module and node.attr in POSIX_ONLY_NAMES.get(module, ()):
                found.append(f"{_where(path, node)}: {module}.{node.attr}")
    return found


def _text(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _argument(call: ast.Call, name: str, position: int) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return call.args[position] if len(call.args) > position else None


def files_opened_without_encoding(path: Path) -> list[str]:
    """Name every open()/read_text()/write_text() in text mode that leaves the encoding to the locale."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "open":
            mode_at, encoding_at = 1, 3  # open(file, mode, buffering, encoding)
        elif isinstance(func, ast.Attribute) and func.attr == "open":
            if isinstance(func.value, ast.Name) and func.value.id == "os":
                continue  # os.open: a file descriptor, no text layer
            if isinstance(func.value, ast.Name) and func.value.id in ("io", "codecs"):
                mode_at, encoding_at = 1, 3
            else:
                mode_at, encoding_at = 0, 2  # Path.open(mode, buffering, encoding)
        elif isinstance(func, ast.Attribute) and func.attr == "read_text":
            mode_at, encoding_at = None, 0
        elif isinstance(func, ast.Attribute) and func.attr == "write_text":
            mode_at, encoding_at = None, 1
        else:
            continue
        if mode_at is not None and "b" in (_text(_argument(node, "mode", mode_at)) or ""):
            continue
        encoding = _argument(node, "encoding", encoding_at)
        if encoding is None or (isinstance(encoding, ast.Constant) and encoding.value is None):
            found.append(f"{_where(path, node)}: {ast.unparse(node)}")
    return found


def test_the_scanners_catch_what_they_look_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import fcntl\nimport os as o\nimport signal\nfrom signal import SIGHUP\n"
        "o.fork()\nsignal.signal(signal.SIGUSR1, None)\n"
        "open('a')\nopen('a', 'rb')\nopen('a', 'w', encoding='utf-8')\nopen('a', encoding=None)\n"
        "p.read_text()\np.read_text(encoding='utf-8')\np.write_text('x')\np.write_text('x', 'utf-8')\n"
        "p.open('w')\np.open('rb')\nos.open('a', 0)\n",
        encoding="utf-8",
    )
    assert len(posix_only_uses(sample)) == 4
    assert [line.split(": ", 1)[1] for line in files_opened_without_encoding(sample)] == [
        "open('a')", "open('a', encoding=None)", "p.read_text()", "p.write_text('x')", "p.open('w')"]


@pytest.mark.parametrize("path", PACKAGE_FILES, ids=lambda p: p.name)
def test_no_posix_only_modules_or_calls(path):
    assert posix_only_uses(path) == []


@pytest.mark.parametrize("path", PACKAGE_FILES, ids=lambda p: p.name)
def test_every_text_file_is_opened_with_an_explicit_encoding(path):
    # Windows would otherwise use cp1251 and garble (or fail on) Cyrillic text.
    assert files_opened_without_encoding(path) == []


def copy_project(dest: Path) -> Path:
    """Copy what the owner unpacks (no .venv, no databases, logs or backups) to `dest`."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-*", "*.lock", "logs", "backups", "exports")
    for folder in ("supportbot", "data"):
        shutil.copytree(PROJECT_DIR / folder, dest / folder, ignore=skip)
    for name in ("requirements.txt", "env.example"):
        shutil.copy2(PROJECT_DIR / name, dest / name)
    return dest


def test_the_bot_runs_from_a_folder_with_spaces_and_cyrillic_letters(tmp_path, api):
    copy = copy_project(tmp_path / "Мой магазин" / "support bot")
    # Started elsewhere, as Task Scheduler does (from System32): relative paths mean the bot's folder.
    bot = BotProcess(tmp_path, api, project_dir=copy, DATABASE_URL="sqlite:///./data/support.db",
                     FAQ_PATH="data/faq.csv")
    bot.start()
    try:
        assert (copy / "data" / "support.db").is_file()
        assert (copy / "data" / "logs" / "supportbot.log").is_file()
        assert not (tmp_path / "data").exists()
    finally:
        code = bot.stop()
    assert code == 0, bot.output()
    assert str(copy / "data" / "support.db") in bot.output()


def test_run_bat_has_crlf_line_endings_and_no_bom():
    raw = (PROJECT_DIR / "run.bat").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "cmd.exe would read the BOM as part of '@echo off'"
    assert raw.endswith(b"\r\n")
    assert raw.count(b"\n") == raw.count(b"\r\n"), "bare LF: cmd.exe misreads labels and blocks"
    assert raw.count(b"\r") == raw.count(b"\r\n"), "bare CR"
    raw.decode("utf-8")


def test_run_bat_reads_exit_codes_outside_parenthesised_blocks():
    # Inside `( … )` cmd.exe expands %errorlevel% once, before the block runs: it would be stale.
    depth = 0
    for number, line in enumerate((PROJECT_DIR / "run.bat").read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if stripped.lower().startswith("rem "):
            continue
        if stripped.startswith(")"):
            depth -= 1
        if depth > 0:
            assert "%errorlevel%" not in stripped.lower(), f"run.bat line {number}: {stripped}"
        if stripped.endswith("("):
            depth += 1
    assert depth == 0


def test_run_sh_has_lf_line_endings():
    assert b"\r" not in (PROJECT_DIR / "run.sh").read_bytes()


def _fake_program(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


@pytest.mark.skipif(shutil.which("bash") is None, reason="run.sh needs bash; runs on Linux/macOS and in CI")
def test_run_sh_rebuilds_a_dead_venv_retries_3_and_4_and_stops_on_5(tmp_path):
    """run.sh with stand-ins for python and sleep: what it runs, how long it waits, when it stops."""
    import subprocess

    folder = tmp_path / "bot"
    folder.mkdir()
    for name in ("run.sh", "requirements.txt", "env.example"):
        shutil.copy(PROJECT_DIR / name, folder / name)
    (folder / ".env").write_text("TELEGRAM_BOT_TOKEN=1:a\n", encoding="utf-8")
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    events = tmp_path / "events"
    # The bot's exit codes, one per run: a crash, a crash, token rejected, another copy, a crash, damaged db.
    (tmp_path / "codes").write_text("1\n1\n4\n3\n1\n5\n", encoding="utf-8")
    venv_python = (f'case "$1" in -c) exit 0 ;; -m) [ "$2" = supportbot ] || exit 0 ;; esac\n'
                   f'n=$(( $(wc -l < "{events}.runs" 2>/dev/null || echo 0) + 1 ))\n'
                   f'echo run >> "{events}.runs"\n'
                   f'code=$(sed -n "${{n}}p" "{tmp_path}/codes")\n'
                   f'echo "bot exits $code" >> "{events}"\n'
                   f'exit "$code"\n')
    (tmp_path / "venv_python").write_text("#!/bin/sh\n" + venv_python, encoding="utf-8")
    for name in ("python3.13", "python3.12", "python3.11", "python3"):
        _fake_program(fakes / name, f'case "$1" in -c) exit 0 ;; esac\n'
                                    f'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"; '
                                    f'cp "{tmp_path}/venv_python" "$3/bin/python"; chmod +x "$3/bin/python"; '
                                    f'echo "venv made" >> "{events}"; exit 0; fi\nexit 1\n')
    _fake_program(fakes / "sleep", f'echo "sleep $1" >> "{events}"\n')
    (folder / ".venv" / "bin").mkdir(parents=True)
    _fake_program(folder / ".venv" / "bin" / "python", "echo 'No Python at C:\\\\Python311' >&2; exit 103\n")

    env = {"PATH": f"{fakes}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(["bash", str(folder / "run.sh")], cwd=folder, env=env, capture_output=True,
                            timeout=60)
    assert result.returncode == 5, result.stderr.decode()
    assert events.read_text(encoding="utf-8").splitlines() == [
        "venv made",
        "bot exits 1", "sleep 5",
        "bot exits 1", "sleep 10",
        "bot exits 4", "sleep 300",  # token rejected: wait, then try again (.env may be fixed by now)
        "bot exits 3", "sleep 300",  # another copy: wait, then try again
        "bot exits 1", "sleep 20",
        "bot exits 5",  # damaged database: no restart
    ]
    output = result.stdout.decode() + result.stderr.decode()
    assert "Пересоздаю .venv" in output and "код 4" in output
    log = (folder / "data" / "logs" / "supportbot.log").read_text(encoding="utf-8")
    assert "код 4" in log and "код 3" in log and "пересоздаю" in log
