"""Shaping text for Telegram: pieces within its limits, names, captions."""
from __future__ import annotations

import math
from dataclasses import dataclass

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split text into pieces of at most `limit` characters, preferring line breaks."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n") if rest[cut:cut + 1] == "\n" else rest[cut:]
    if rest:
        pieces.append(rest)
    return pieces


def join_lines_in_pieces(lines: list[str], limit: int = TEXT_LIMIT) -> list[str]:
    """Pack lines into as few messages of at most `limit` characters as possible."""
    pieces: list[str] = []
    current = ""
    for line in lines:
        for part in split_text(line, limit):
            candidate = f"{current}\n{part}" if current else part
            if len(candidate) > limit:
                pieces.append(current)
                current = part
            else:
                current = candidate
    if current:
        pieces.append(current)
    return pieces


def describe_person(first_name: str, username: str | None, short_id: int, last_name: str | None = None) -> str:
    """Name a customer for operators: "Анна Иванова @anna (#3)"."""
    name = " ".join(p for p in (first_name, last_name) if p) or "без имени"
    handle = f" @{username}" if username else ""
    return f"{name}{handle} (#{short_id})"


def wait_minutes(seconds: float) -> int:
    """Round a wait up to whole minutes."""
    return max(0, math.ceil(seconds / 60))



# Content Telegram delivers without a caption: the sender's name has to go as a message of its own.
NO_CAPTION = frozenset({"sticker", "location", "contact", "venue", "dice", "poll", "video_note"})


@dataclass(frozen=True)
class RelayShape:
    """How a customer's media reaches the operator: header apart or as caption, caption apart as text."""
    header_apart: bool
    caption: str | None     # the copy's new caption; None keeps the original
    caption_text: str | None  # the customer's caption, sent as text after the copy


def relay_shape(content_type: str, header: str, caption: str | None) -> RelayShape:
    """Shape a relayed media message so that the operator always sees whose it is and all its words."""
    if content_type in NO_CAPTION:
        # Telegram drops a caption on these; passed all the same, it names the stand-in if the copy is refused.
        return RelayShape(header_apart=True, caption=header, caption_text=None)
    combined = f"{header}\n{caption}" if caption else header
    if len(combined) <= CAPTION_LIMIT:
        return RelayShape(header_apart=False, caption=combined, caption_text=None)
    # Too long for a bot's caption (a Premium customer's): the header as caption, the words after it.
    return RelayShape(header_apart=False, caption=header[:CAPTION_LIMIT], caption_text=caption)


HISTORY_CONTINUATION = "    ┆ "


def history_entry(time: str, author: str, body: str) -> str:
    """One history entry; every further line of the body is indented, so no line of it can pose as an entry."""
    author = " ".join(author.split())  # a name cannot break the line either
    first, *more = body.split("\n") if body else [""]
    lines = [f"[{time}] {author}: {first}"] + [HISTORY_CONTINUATION + line for line in more]
    return "\n".join(lines)
