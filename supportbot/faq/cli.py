"""The owner's `faq` tool: what the bot would do with a question, and what the FAQ lacks.

    python -m supportbot faq "вопрос"           top three entries, scores, the outcome
    python -m supportbot faq --batch            one line a message from stdin: score and entry, or 0.00
    python -m supportbot faq gaps [--since ГГГГ-ММ-ДД] [--csv ФАЙЛ]
                                                questions operators answered and the FAQ did not

It uses the bot's settings (FAQ_PATH, FAQ_MIN_SCORE, DATABASE_URL from .env) unless
--faq, --min-score or --db say otherwise. Everything it prints is for the owner, in Russian.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator, TextIO

from ..storage import PostgresUrl
from .entries import FaqError, load_faq
from .gaps import find_gaps, group_questions, read_history
from .match import CLOSING, LIKELY, NARROW, ORDER_REFERENCE, SURE, FaqMatcher

USAGE = """Использование:
  python -m supportbot faq "вопрос клиента" [--faq ФАЙЛ.csv] [--min-score 0..1]
  python -m supportbot faq --batch [--faq ФАЙЛ.csv] [--min-score 0..1]   (по строке из stdin)
  python -m supportbot faq gaps [--since ГГГГ-ММ-ДД] [--csv ФАЙЛ.csv] [--faq ФАЙЛ.csv] [--db ФАЙЛ.db]"""

_OUTCOME_TEXT = {
    SURE: "бот ответит клиенту сам",
    LIKELY: "клиенту бот не ответит, оператору предложит этот ответ",
}
_NEVER_SURE_TEXT = {
    CLOSING: "это благодарность или «ок» без вопроса.",
    ORDER_REFERENCE: "это номер заказа без вопроса.",
    NARROW: "кроме одного особого слова FAQ в вопросе есть слово, место или модель, которых FAQ не знает, — "
            "часто это и есть то, на что FAQ не отвечает. Если такие вопросы частые, впишите это слово в "
            "keywords нужной записи (или в формулировку вопроса).",
}


class UsageError(Exception):
    """The command line is wrong; the message says how in Russian."""


@dataclass(frozen=True)
class Settings:
    faq_path: Path
    min_score: float | None
    database: Path | PostgresUrl | None


def bot_settings() -> Settings:
    """Read FAQ_PATH, FAQ_MIN_SCORE and DATABASE_URL the way the bot does (.env, then the environment)."""
    from ..config import load_config, settings_environment

    env = settings_environment()
    # The tool needs no token or PINs: stand-ins let the bot's own rules read the rest.
    env["TELEGRAM_BOT_TOKEN"], env["OPERATOR_PINS"] = "1:stand-in", "0000"
    config = load_config(env)
    return Settings(config.faq_path, config.faq_min_score, config.database)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print English and exit
        raise UsageError(f"не понял команду ({message}).")


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="supportbot faq", add_help=False)
    if argv[:1] == ["gaps"]:
        parser.add_argument("gaps")
        parser.add_argument("--since", default=None)
        parser.add_argument("--csv", type=Path, default=None)
        parser.add_argument("--db", type=Path, default=None)
    else:
        parser.add_argument("message", nargs="?")
        parser.add_argument("--batch", action="store_true")
    parser.add_argument("--faq", type=Path, default=None)
    parser.add_argument("--min-score", type=float, default=None)
    args = parser.parse_args(argv)
    args.gaps = argv[:1] == ["gaps"]
    if not args.gaps and args.batch == (args.message is not None):
        raise UsageError("напишите вопрос клиента в кавычках или укажите --batch.")
    if args.min_score is not None and not 0.0 <= args.min_score <= 1.0:
        raise UsageError("--min-score — число от 0 до 1, например 0.6.")
    if args.gaps and args.since is not None:
        try:
            args.since = datetime.strptime(args.since, "%Y-%m-%d").timestamp()
        except ValueError:
            raise UsageError(f"дата «{args.since}» не в виде ГГГГ-ММ-ДД, например 2026-03-01.") from None
    return args


def main(
    argv: list[str],
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    settings: Settings | None = None,
) -> int:
    """Run the owner's FAQ tool; return the exit code (2 for a usage, settings or file error)."""
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else _utf8_stream(sys.stdout)
    stderr = stderr if stderr is not None else _utf8_stream(sys.stderr)
    try:
        args = _parse_args(argv)
        if settings is None:
            settings = bot_settings()
    except UsageError as exc:
        print(f"Ошибка: {exc}\n{USAGE}", file=stderr)
        return 2
    except Exception as exc:  # ConfigError: a bad value in .env, said in Russian with its key
        print(f"Ошибка в настройках (.env): {exc}. Исправьте значение или укажите --faq и --min-score.",
              file=stderr)
        return 2
    path = args.faq or settings.faq_path
    try:
        entries = load_faq(path)
    except FaqError as exc:
        print(f"Ошибка: не удалось прочитать FAQ: {exc}. Исправьте файл или укажите другой через --faq.",
              file=stderr)
        return 2
    matcher = FaqMatcher(entries, args.min_score if args.min_score is not None else settings.min_score)
    if args.gaps:
        return _gaps(args, settings, matcher, stdout, stderr)
    if args.batch:
        for line in _input_lines(stdin):
            found = matcher.match(line)
            stdout.write(f"{found.score:.2f}\t{found.entry.questions[0]}\n" if found else "0.00\t\n")
            stdout.flush()
        return 0
    _explain(matcher, args.message, stdout)
    return 0


def _explain(matcher: FaqMatcher, message: str, out: TextIO) -> None:
    """Print the outcome for one message, the three best entries and the thresholds."""
    verdict = matcher.classify(message)
    ranked = matcher.score_all(message)[:3]
    if verdict.outcome in _OUTCOME_TEXT:
        entry = verdict.entry
        print(f"Итог: {_OUTCOME_TEXT[verdict.outcome]} — №{entry.number} «{entry.questions[0]}».", file=out)
    elif ranked:
        print("Итог: ничего не подходит, бот не ответит сам и ничего не предложит оператору.", file=out)
    else:
        print("Итог: ничего не подходит — в вопросе нет слов из FAQ.", file=out)
    for place, found in enumerate(ranked, 1):
        print(f"  {place}. {found.score:.2f}  №{found.entry.number} «{found.entry.questions[0]}»", file=out)
    why_not = matcher.never_sure(message) if verdict.outcome != SURE and verdict.score >= matcher.min_score else ""
    if why_not:
        print(f"Сам бот не ответит при любой оценке: {_NEVER_SURE_TEXT[why_not]}", file=out)
    how = "задан FAQ_MIN_SCORE или --min-score" if matcher.min_score != matcher.calibrated_score else "подобран по вашему FAQ"
    print(
        f"Пороги: ответить сам — от {matcher.min_score:.2f} ({how}), а второй ответ должен набрать не больше "
        f"{1 - matcher.margin:.0%} от первого; предложить оператору — от {matcher.likely_score:.2f}.",
        file=out,
    )
    if verdict.outcome == SURE:
        print(f"Ответ: {verdict.entry.answer}", file=out)


def _gaps(args: argparse.Namespace, settings: Settings, matcher: FaqMatcher, out: TextIO, err: TextIO) -> int:
    database = args.db or settings.database
    try:
        rows = read_history(database, args.since)
    except FileNotFoundError:
        print(f"Ошибка: нет базы данных {database}. Проверьте DATABASE_URL в .env или укажите --db.", file=err)
        return 2
    except Exception as exc:  # sqlite3.Error: not a database, or an older one without messages
        print(f"Ошибка: не удалось прочитать базу {database} ({exc}). Проверьте DATABASE_URL или укажите --db.",
              file=err)
        return 2
    groups = group_questions(find_gaps(rows, matcher))
    if args.csv is not None:
        try:
            with open(args.csv, "w", encoding="utf-8-sig", newline="") as file:
                writer = csv.writer(file, delimiter=";")  # Russian Excel splits columns on ';'
                writer.writerow(["сколько раз", "вопрос", "похожие"])
                for group in groups:
                    writer.writerow([group.count, group.question, " | ".join(group.examples)])
        except OSError as exc:
            print(f"Ошибка: не удалось записать {args.csv} ({exc.strerror or exc}). "
                  f"Закройте файл в Excel или выберите другое имя.", file=err)
            return 2
        print(f"Записано групп вопросов: {len(groups)} → {args.csv}", file=out)
        return 0
    if not groups:
        print("Вопросов без ответа из FAQ, на которые отвечал оператор, не найдено.", file=out)
        return 0
    print("Вопросы, на которые FAQ не ответил, а ответил оператор (сколько раз — вопрос):", file=out)
    for group in groups:
        print(f"{group.count:>4} × {group.question}", file=out)
        for example in group.examples:
            print(f"       также: {example}", file=out)
    print("Добавьте в FAQ ответы на частые вопросы сверху списка.", file=out)
    return 0


def _utf8_stream(stream: TextIO) -> TextIO:
    # A Windows console or pipe may default to cp1251/cp866, which cannot print everything.
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None and (getattr(stream, "encoding", "") or "").lower() not in ("utf-8", "utf8"):
        try:
            reconfigure(encoding="utf-8")
        except (ValueError, OSError, io.UnsupportedOperation):
            pass
    return stream


def _input_lines(stream: TextIO) -> Iterator[str]:
    """Yield lines of standard input, decoding bytes as UTF-8 or else cp1251 line by line."""
    binary = getattr(stream, "buffer", None)
    if binary is None:
        for line in stream:
            yield line.rstrip("\r\n")
        return
    first = True
    for raw in binary:
        if first and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        first = False
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = raw.decode("cp1251", errors="replace")
        yield line.rstrip("\r\n")
