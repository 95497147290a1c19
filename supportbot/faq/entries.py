"""The owner's FAQ file: read a CSV (question,answer[,keywords]) into entries. Reads only the file."""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

class FaqError(Exception):
    """A FAQ file that cannot be used; the message names the file and the line."""

@dataclass(frozen=True)
class FaqEntry:
    number: int
    questions: tuple[str, ...]
    answer: str
    keywords: tuple[str, ...] = ()

_HEADER_ALIASES = {
    "question": "question",
    "questions": "question",
    "вопрос": "question",
    "вопросы": "question",
    "answer": "answer",
    "ответ": "answer",
    "keywords": "keywords",
    "keyword": "keywords",
    "ключевые слова": "keywords",
    "ключевые": "keywords",
}
_KEYWORD_SEPARATORS = re.compile(r"[|,]")

def load_faq(path: Path) -> tuple[FaqEntry, ...]:
    """Read a FAQ CSV (question,answer[,keywords]) and return its entries numbered 1..N."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        what = ("файла нет" if isinstance(exc, FileNotFoundError) else "нет доступа к файлу"
                if isinstance(exc, PermissionError) else "файл не удаётся прочитать")
        raise FaqError(f"{path}: {what}") from exc
    return parse_faq(_decode(raw, path.name), path.name)

def parse_faq(text: str, name: str = "faq.csv") -> tuple[FaqEntry, ...]:
    """Parse FAQ CSV text; `name` prefixes error messages."""
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=first_line.count) if first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: dict[str, int] | None = None
    entries: list[FaqEntry] = []
    row_start = line_number = 1
    last_row: list[str] = []
    try:
        for row in reader:
            line_number, row_start = row_start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            last_row = row
            if columns is None:
                columns = _header_columns(row, name, line_number)
                continue
            entries.append(_entry_from_row(row, columns, len(entries) + 1, name, line_number))
    except csv.Error as exc:
        raise FaqError(f"{name}, строка {row_start}: не разобрать строку CSV — проверьте кавычки") from exc
    if columns is None:
        raise FaqError(f"{name}, строка 1: нет строки заголовка (нужна строка question,answer,keywords)")
    # A quote opened and never closed swallows the rest of the file into one cell without a csv error.
    if text.count('"') % 2 and any("\n" in cell for cell in last_row):
        raise FaqError(f"{name}, строка {line_number}: кавычка не закрыта — всё после неё попало в одну ячейку")
    return tuple(entries)

def _decode(raw: bytes, name: str) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return _decode_strict(raw[len(codecs.BOM_UTF8) :], "utf-8", name)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_strict(raw, "utf-16", name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            return raw.decode("cp1251")
        except UnicodeDecodeError:
            line = raw.count(b"\n", 0, utf8_error.start) + 1
            raise FaqError(
                f"{name}, строка {line}: непонятные символы — сохраните файл в UTF-8 или Windows-1251"
            ) from utf8_error

def _decode_strict(raw: bytes, encoding: str, name: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].decode(encoding, errors="replace").count("\n") + 1
        raise FaqError(f"{name}, строка {line}: непонятные символы — файл не в кодировке {encoding.upper()}") from exc

def _header_columns(row: list[str], name: str, line_number: int) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(row):
        key = _HEADER_ALIASES.get(" ".join(cell.strip().lstrip("\ufeff").lower().split()))
        if key and key not in columns:
            columns[key] = index
    for required in ("question", "answer"):
        if required not in columns:
            raise FaqError(
                f"{name}, строка {line_number}: нет столбца «{required}» "
                f"(заголовок должен быть question,answer,keywords)"
            )
    return columns

def _entry_from_row(
    row: list[str], columns: dict[str, int], number: int, name: str, line_number: int
) -> FaqEntry:
    def cell(column: str) -> str:
        index = columns.get(column)
        return row[index].strip() if index is not None and index < len(row) else ""

    questions = tuple(q.strip() for q in cell("question").split("|") if q.strip())
    if not questions:
        raise FaqError(f"{name}, строка {line_number}: пустой вопрос")
    answer = cell("answer")
    if not answer:
        raise FaqError(f"{name}, строка {line_number}: пустой ответ")
    keywords = tuple(k.strip() for k in _KEYWORD_SEPARATORS.split(cell("keywords")) if k.strip())
    return FaqEntry(number=number, questions=questions, answer=answer, keywords=keywords)

