"""Match a customer's message to the owner's FAQ entries: pure computation, no I/O.

Everything the owner wrote is match text (vocabulary.py: the FAQ's terms and weights, and how a
message maps onto them). Up to two unknown words of a message count against a match, because such
a word is often the real topic the FAQ lacks («оплатить в рассрочку?»); an everyday word the FAQ
lacks counts half.

An entry's score (0..1) is the weighted share of the message's terms the entry accounts for,
times how much of its best phrasing (or, weaker, of its answer) the message covers. A match
that rests only on generic words (a word used by a quarter of the entries, words like «заказ»
for any shop, question words, everyday words) or on look-alikes is scaled down so that it is
never sure.

Sure needs the best entry to lead the runner-up by `margin` of its own score (0.2: the
runner-up has at most 80 % of it) and a score at the sure threshold, or, when the message asks
with three or more specific words of that entry, a little over half of it. The threshold is
calibrated on the FAQ itself when it loads: each question phrasing is matched against the FAQ
without it (leave-one-out) and the threshold is the lowest step at which those that would be
sure mostly get their own entry. A thank-you without a question, an order number without one
(«бронь 318 на Иванову») and a word the FAQ does not know, a Latin model or a place included (a person's
name is not), beside only one specific word it does («криптой оплатить можно?», «в Минск доставляете?»)
are never answered, at most suggested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from . import text as t
from .entries import FaqEntry
from .vocabulary import Vocabulary

SURE = "sure"
LIKELY = "likely"
NONE = "none"
# Why a message is never sure (`FaqMatcher.never_sure`).
CLOSING = "closing"
ORDER_REFERENCE = "order reference"
NARROW = "narrow"

# How much a phrasing's coverage matters next to the share of the message explained.
_COVERAGE_SHARE = 0.35
# ...and at most this many such words count: a long story around a question is still a question.
_UNKNOWN_MOST = 2
# A match without a specific term is scaled down this much: it can at most be "likely".
_UNSPECIFIC_FACTOR = 0.55
# Calibration: the sure threshold is the lowest step within these bounds at which the FAQ's own
# questions, each left out and matched as a customer's message, get their own entry at least this
# share of the times they would get a sure answer.
SURE_FLOOR, SURE_CEILING = 0.7, 0.8
_CALIBRATION_STEP = 0.05
_CALIBRATION_PRECISION = 0.9
# "likely" starts this far below "sure" and needs this share of the sure margin as its lead:
# two entries tied are no suggestion.
_LIKELY_GAP = 0.2
_LIKELY_LEAD_SHARE = 0.25
# The best entry must lead the runner-up by this share of its own score to be sure
# (0.2: the runner-up scores at most 80 % of the best).
DEFAULT_MARGIN = 0.2
# A message that asks with this many specific words of one entry needs only this share of the sure score.
_MANY_WORDS = 3
_MANY_WORDS_SHARE = 0.55
# A message with an unknown word and at most this many specific known ones is never sure.
_NARROW_TERMS = 1
# `find` serves operators who type a few words on purpose: best entry, low bar, no margin.
FIND_MIN_SCORE = 0.3
# Leave-one-out calibration samples about this many questions (evenly), to keep loading fast.
_CALIBRATION_SAMPLE = 400


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    score: float


@dataclass(frozen=True)
class FaqVerdict:
    """What the matcher makes of a message: an outcome and the two best entries."""

    outcome: str  # "sure", "likely" or "none"
    best: FaqMatch | None
    runner_up: FaqMatch | None

    @property
    def entry(self) -> FaqEntry | None:
        return self.best.entry if self.best else None

    @property
    def score(self) -> float:
        return self.best.score if self.best else 0.0


class _Tally:
    """What one message shares with each entry, summed term by term."""

    def __init__(self) -> None:
        self.explained: dict[int, float] = {}  # weight of the message's terms the entry has
        self.from_answer: dict[int, float] = {}  # ...of it, what only the entry's answer has
        self._shared: dict[int, int] = {}  # how many of the message's terms the entry has
        self._specific: set[int] = set()  # entries that ask with a specific term of the message
        self._answer_specific: set[int] = set()  # entries whose answer alone has one

    def add(self, index: int, gain: float, field: float, telling: bool) -> None:
        self.explained[index] = self.explained.get(index, 0.0) + gain * field
        self._shared[index] = self._shared.get(index, 0) + 1
        if field < 1.0:
            self.from_answer[index] = self.from_answer.get(index, 0.0) + gain * field
        if telling:
            (self._specific if field == 1.0 else self._answer_specific).add(index)

    def specific(self) -> set[int]:
        """Return the entries whose match rests on a specific term.

        One word that only an answer uses («дождитесь сообщения») is too little on its own.
        """
        return self._specific | {index for index in self._answer_specific if self._shared[index] >= 2}


class FaqMatcher:
    """Pick the FAQ entry that answers a customer's message, one to suggest, or none."""

    def __init__(
        self,
        entries: Iterable[FaqEntry],
        min_score: float | None = None,
        *,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        self.entries: tuple[FaqEntry, ...] = tuple(entries)
        self.margin = margin
        self.vocabulary = Vocabulary(self.entries)
        self.calibrated_score = self._calibrate()
        self.min_score = self.calibrated_score if min_score is None else min_score
        self.likely_score = max(self.min_score - _LIKELY_GAP, 0.0)

    # ----------------------------------------------------------------------- scoring

    def _score(
        self, known: dict[str, float], unknown: float = 0, skip: int | None = None
    ) -> list[tuple[float, int]]:
        """Score every entry that shares a term with the message; `skip` leaves one phrasing out."""
        if not known:
            return []
        weight = self.vocabulary.weight
        total = sum(weight[term] for term in known) + min(unknown, _UNKNOWN_MOST) * self.vocabulary.unknown_weight
        skipped_entry = self.vocabulary.phrasings[skip].entry_index if skip is not None else None
        # Accumulate along the postings: only entries and phrasings that share a term are touched.
        tally = _Tally()
        have: dict[int, float] = {}
        for term, sureness in known.items():
            gain = weight[term] * sureness
            telling = term not in self.vocabulary.generic and sureness >= 0.6
            for index, field in self.vocabulary.postings.get(term, ()):
                if index != skipped_entry:
                    tally.add(index, gain, field, telling)
            for position in self.vocabulary.phrasing_postings.get(term, ()):
                if position != skip:
                    have[position] = have.get(position, 0.0) + gain
        if skipped_entry is not None:
            fields = self.vocabulary.fields_without(skipped_entry, skip)
            for term, sureness in known.items():
                if term in fields:
                    telling = term not in self.vocabulary.generic and sureness >= 0.6
                    tally.add(skipped_entry, weight[term] * sureness, fields[term], telling)
        specific = tally.specific()
        coverage: dict[int, float] = {}
        for position, amount in have.items():
            phrasing = self.vocabulary.phrasings[position]
            share = amount / self.vocabulary.phrasing_weight[position]
            if share > coverage.get(phrasing.entry_index, 0.0):
                coverage[phrasing.entry_index] = share
            # All of a phrasing of two or more words («где мой заказ») is specific as a whole.
            if share >= 0.999 and len(phrasing.terms) >= 2:
                specific.add(phrasing.entry_index)
        scored = []
        for index, amount in tally.explained.items():
            share = amount / total
            # What only the answer explains covers the message as a phrasing would (at the answer's weight).
            covered = max(coverage.get(index, 0.0), tally.from_answer.get(index, 0.0) / total)
            score = share * (1 - _COVERAGE_SHARE + _COVERAGE_SHARE * covered)
            if index not in specific:
                score *= _UNSPECIFIC_FACTOR
            scored.append((score, index))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return scored

    def score_all(self, text: str) -> list[FaqMatch]:
        """Score every entry that shares anything with the message, best first."""
        known, unknown, _ = self.vocabulary.message_terms(text)
        ranked = self._score(known, unknown)
        return [FaqMatch(self.entries[index], round(min(score, 1.0), 4)) for score, index in ranked]

    # ----------------------------------------------------------------------- calibration

    def _calibrate(self) -> float:
        """Return the sure threshold for this FAQ from leave-one-out matches of its own questions.

        Each question phrasing of an entry with several is matched against the FAQ without that
        phrasing, as if a customer had asked it. The threshold is the lowest step in
        [SURE_FLOOR, SURE_CEILING] at which at least _CALIBRATION_PRECISION of the phrasings
        that would get a sure answer get their own entry's: a FAQ whose entries sit close to
        one another gets a higher bar.
        """
        if not self.vocabulary.question_positions:
            return SURE_FLOOR
        outcomes: list[tuple[float, float, bool]] = []  # (best score, runner-up's, best is the own entry)
        for position in self.vocabulary.question_positions[:: max(1, len(self.vocabulary.question_positions) // _CALIBRATION_SAMPLE)]:
            own = self.vocabulary.phrasings[position].entry_index
            known = {term: 1.0 for term in self.vocabulary.phrasings[position].terms}
            scored = self._score(known, skip=position)
            if scored:
                second = scored[1][0] if len(scored) > 1 else 0.0
                outcomes.append((scored[0][0], second, scored[0][1] == own))
        threshold = SURE_FLOOR
        while threshold < SURE_CEILING:
            sure = [right for score, second, right in outcomes
                    if score >= threshold and self._leads(score, second, self.margin)]
            if not sure or sum(sure) >= _CALIBRATION_PRECISION * len(sure):
                break
            threshold = round(threshold + _CALIBRATION_STEP, 3)
        return threshold

    # ----------------------------------------------------------------------- verdicts

    def classify(self, text: str) -> FaqVerdict:
        """Return the outcome for a customer's message ("sure", "likely", "none") with the two best entries."""
        known, unknown, named = self.vocabulary.message_terms(text)
        scored = self._score(known, unknown)
        ranked = [FaqMatch(self.entries[index], round(min(score, 1.0), 4)) for score, index in scored]
        best = ranked[0] if ranked else None
        runner_up = ranked[1] if len(ranked) > 1 else None
        if best is None or best.score < self.likely_score:
            return FaqVerdict(NONE, best, runner_up)
        second = runner_up.score if runner_up else 0.0
        if self._leads(best.score, second, self.margin) and not self._never_sure(text, known, unknown, named):
            if best.score >= self.min_score:
                return FaqVerdict(SURE, best, runner_up)
            # A lower score is enough when the message asks with several of the entry's own specific words.
            if best.score >= self.min_score * _MANY_WORDS_SHARE and self._specific_count(known, scored[0][1]) >= _MANY_WORDS:
                return FaqVerdict(SURE, best, runner_up)
        if self._leads(best.score, second, self.margin * _LIKELY_LEAD_SHARE):
            return FaqVerdict(LIKELY, best, runner_up)
        return FaqVerdict(NONE, best, runner_up)

    def never_sure(self, text: str) -> str:
        """Return why a message may at most get a suggestion whatever it scores (CLOSING, ORDER_REFERENCE,
        NARROW), or "" when it may be sure (see `_never_sure`)."""
        return self._never_sure(text, *self.vocabulary.message_terms(text))

    def _never_sure(self, text: str, known: dict[str, float], unknown: float, named: int) -> str:
        """Thanks and «ок» without a question mark close a talk; an order number with no question names an
        order; a word the FAQ does not know, a Latin model or a place included (a person's name is not), beside
        only one specific word it does («криптой оплатить можно?», «бонусы сгорают?», «в Минск доставляете?»)
        is as often as not the question the FAQ lacks."""
        if t.is_closing_remark(text):
            return CLOSING
        if t.is_order_reference(text):
            return ORDER_REFERENCE
        specific = sum(1 for term in known if term not in self.vocabulary.generic)
        return NARROW if unknown + named >= 1 and specific <= _NARROW_TERMS else ""

    @staticmethod
    def _leads(best: float, second: float, margin: float) -> bool:
        """Tell whether the best score leads the runner-up by `margin` of itself (0.2: second ≤ 80 % of best)."""
        return best > 0 and second <= best * (1 - margin) + 1e-9

    def _specific_count(self, known: dict[str, float], index: int) -> int:
        """Return how many specific terms of the message entry `index` uses (in any field)."""
        fields = self.vocabulary.fields[index]
        return sum(1 for term, sureness in known.items()
                   if term in fields and term not in self.vocabulary.generic and sureness >= 0.6)

    def match(self, text: str) -> FaqMatch | None:
        """Return the entry that surely answers the message, or None to leave it to an operator."""
        verdict = self.classify(text)
        return verdict.best if verdict.outcome == SURE else None

    def find(self, query: str) -> FaqEntry | None:
        """Return entry N for a number, else the entry that best fits the words, else None."""
        query = query.strip().lstrip("#№").strip()
        if query.isdigit():
            number = int(query)
            return self.entries[number - 1] if 1 <= number <= len(self.entries) else None
        ranked = self.score_all(query)
        if ranked and ranked[0].score >= FIND_MIN_SCORE:
            return ranked[0].entry
        return None
