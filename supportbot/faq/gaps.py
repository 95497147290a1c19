"""What the FAQ lacks: customers' questions that an operator answered and the FAQ did not.

`read_history` is the only I/O here: it reads the bot's database (an SQLite file or PostgreSQL)
without writing, so it can run while the bot works. `find_gaps` and `group_questions` are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..storage import PostgresUrl
from ..storage.files import text_history
from . import text as t
from .match import SURE, FaqMatcher

# Two questions belong to one group when they share this share of their terms (Jaccard).
_GROUP_SIMILARITY = 0.4
# Examples kept per group besides the first question.
_EXAMPLES = 3


@dataclass(frozen=True)
class HistoryRow:
    dialog_id: int
    direction: str  # "in" customer, "out" operator, "bot" the bot's own words
    body: str


@dataclass(frozen=True)
class GapGroup:
    question: str  # the first question of the group, as the customer wrote it
    count: int
    examples: tuple[str, ...]


def read_history(database: Path | PostgresUrl, since: float | None = None) -> list[HistoryRow]:
    """Read dialogs' text messages (customer, operator, bot) in order, without writing anything."""
    return [HistoryRow(*row) for row in text_history(database, since)]


def find_gaps(rows: Iterable[HistoryRow], matcher: FaqMatcher) -> list[str]:
    """Return the customers' questions an operator answered with no FAQ answer before it.

    A bot message that contains an entry's answer counts as a FAQ answer to the customer's
    messages before it. Small talk (no terms: greetings, thanks, bare numbers) is no question,
    and a question the current FAQ answers surely is no longer a gap.
    """
    answers = [entry.answer for entry in matcher.entries]
    gaps: list[str] = []
    waiting: list[str] = []
    dialog = None
    for row in rows:
        if row.dialog_id != dialog:
            dialog, waiting = row.dialog_id, []
        if row.direction == "in":
            if row.body.strip() and t.terms(row.body):
                waiting.append(row.body.strip())
        elif row.direction == "bot":
            if any(answer and answer in row.body for answer in answers):
                waiting = []
        elif row.direction == "out":
            gaps.extend(question for question in waiting if matcher.classify(question).outcome != SURE)
            waiting = []
    return gaps


def group_questions(questions: Sequence[str]) -> list[GapGroup]:
    """Group similar questions; return the groups, most frequent first (ties: first asked first)."""
    groups: list[tuple[frozenset[str], list[str]]] = []
    for question in questions:
        terms = frozenset(t.terms(question))
        best, best_similarity = None, 0.0
        for group_terms, members in groups:
            union = terms | group_terms
            similarity = len(terms & group_terms) / len(union) if union else 0.0
            if similarity > best_similarity:
                best, best_similarity = members, similarity
        if best is not None and best_similarity >= _GROUP_SIMILARITY:
            best.append(question)
        else:
            groups.append((terms, [question]))
    ordered = sorted(groups, key=lambda group: -len(group[1]))  # stable: first asked first
    return [GapGroup(members[0], len(members), tuple(members[1 : 1 + _EXAMPLES])) for _, members in ordered]
