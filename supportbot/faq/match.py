"""Match a customer's message to the owner's FAQ entries: pure computation, no I/O.

Everything the owner wrote is match text: phrasings and keywords fully, the answer with a
lower weight. A message is cut into terms (see text.py); Latin-layout words are turned back
into Russian when the result is a word the FAQ or the general lists know. A term the FAQ
does not use is looked up by character 3–5-grams (typos, slang). Terms weigh more the fewer
entries use them; everyday words (сегодня, купить, мама…) weigh little whatever the FAQ does.
What is still unknown: names (capitalised inside a sentence) and models (digits, Latin
letters) are ignored; up to two other unknown words count against a match, because such a
word is often the real topic the FAQ lacks («оплатить в рассрочку?»); an everyday word the
FAQ lacks counts half.

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
(«бронь 318 на Иванову») and a word the FAQ does not know beside only one specific word it does
(«криптой оплатить можно?») are never answered, at most suggested.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable

from . import text as t
from .entries import FaqEntry

SURE = "sure"
LIKELY = "likely"
NONE = "none"

# Field weights: what an entry's phrasings and keywords say fully counts, its answer less.
_ANSWER_WEIGHT = 0.7
# Most a question frame («сколько», «где») may weigh, however rare it is in this FAQ.
_FRAME_WEIGHT = 0.6
# Most an everyday word (text.COMMON_TERMS) may weigh, however rare it is in this FAQ.
_COMMON_WEIGHT = 0.6
# ...and one the FAQ does not use counts this much of an unknown word against a match.
_EVERYDAY_UNKNOWN = 0.5
# How much a phrasing's coverage matters next to the share of the message explained.
_COVERAGE_SHARE = 0.35
# How much a word the FAQ does not know (and that is no name or model) weighs against a match.
_UNKNOWN_SHARE = 0.5
# ...and at most this many such words count: a long story around a question is still a question.
_UNKNOWN_MOST = 2
# How sure a lookalike sharing its first five letters with a FAQ term is.
_PREFIX_SIMILARITY = 0.8
# A character-gram lookalike must be this similar (Dice over 3–5-grams) to count, and counts that much less.
_FUZZY_MIN = 0.45
# A match without a specific term is scaled down this much: it can at most be "likely".
_UNSPECIFIC_FACTOR = 0.55
# A term used by at least this share of entries (and at least 3) is generic for this FAQ.
_GENERIC_SHARE = 0.25
# Calibration: the sure threshold is the lowest step within these bounds at which the FAQ's own
# questions, each left out and matched as a customer's message, get their own entry at least this
# share of the times they would get a sure answer.
SURE_FLOOR, SURE_CEILING = 0.6, 0.8
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
# Telegram allows 4096 characters; a question is said in far fewer.
_MAX_MESSAGE_CHARS = 1000
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


_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?\n]\s*$")


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _names(text: str) -> set[str]:
    """Return the normalised words that look like names or models: capitalised inside a
    sentence («на Сергея»), or mixing letters and digits («A4», «s21»), or Latin."""
    found = set()
    for match in _WORD.finditer(text):
        word = match.group(0)
        inside = match.start() > 0 and not _SENTENCE_END.search(text[: match.start()])
        mixed = any(c.isdigit() for c in word) and not word.isdigit()
        if (inside and word[0].isupper()) or mixed or word.isascii():
            found.add(t.normalize(word))
    return found


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


@dataclass(frozen=True)
class _Phrasing:
    entry_index: int
    terms: tuple[str, ...]


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
        self._build_index()
        self.calibrated_score = self._calibrate()
        self.min_score = self.calibrated_score if min_score is None else min_score
        self.likely_score = max(self.min_score - _LIKELY_GAP, 0.0)

    # ----------------------------------------------------------------------- index

    def _build_index(self) -> None:
        self._phrasings: list[_Phrasing] = []
        # term -> field weight, per entry (the best field the entry uses it in)
        self._fields: list[dict[str, float]] = []
        self._entry_phrasings: list[list[int]] = []
        self._question_positions: list[int] = []  # question phrasings of entries with several
        for index, entry in enumerate(self.entries):
            fields: dict[str, float] = {}
            for term in t.terms(entry.answer):
                fields[term] = _ANSWER_WEIGHT
            own: list[int] = []
            for number, phrasing in enumerate(entry.questions + entry.keywords):
                phrasing_terms = tuple(t.terms(phrasing))
                if not phrasing_terms:
                    continue
                if number < len(entry.questions) and len(entry.questions) > 1:
                    self._question_positions.append(len(self._phrasings))
                own.append(len(self._phrasings))
                self._phrasings.append(_Phrasing(index, phrasing_terms))
                for term in phrasing_terms:
                    fields[term] = 1.0
            self._fields.append(fields)
            self._entry_phrasings.append(own)

        count = max(len(self.entries), 1)
        found_in: dict[str, int] = {}
        asked_in: dict[str, int] = {}
        for fields in self._fields:
            for term, weight in fields.items():
                found_in[term] = found_in.get(term, 0) + 1
                if weight == 1.0:
                    asked_in[term] = asked_in.get(term, 0) + 1
        self._weight = {term: math.log(1.0 + count / n) for term, n in found_in.items()}
        for term in t.FRAME_TERMS & self._weight.keys():
            self._weight[term] = min(self._weight[term], _FRAME_WEIGHT)
        for term in t.COMMON_TERMS & self._weight.keys():
            self._weight[term] = min(self._weight[term], _COMMON_WEIGHT)
        # A word the FAQ never uses counts against a match like a word of middling rarity, times a share.
        weights = sorted(self._weight.values())
        self._unknown_weight = _UNKNOWN_SHARE * (weights[len(weights) // 2] if weights else 1.0)
        generic_at = max(3, _GENERIC_SHARE * count)
        self._generic = set(t.GENERIC_TERMS) | t.FRAME_TERMS | t.COMMON_TERMS
        self._generic.update(term for term, n in asked_in.items() if n >= generic_at)

        self._postings: dict[str, list[tuple[int, float]]] = {}
        for index, fields in enumerate(self._fields):
            for term, field in fields.items():
                self._postings.setdefault(term, []).append((index, field))
        self._phrasing_postings: dict[str, list[int]] = {}
        self._phrasing_weight: list[float] = []
        for position, phrasing in enumerate(self._phrasings):
            self._phrasing_weight.append(sum(self._weight[term] for term in phrasing.terms))
            for term in set(phrasing.terms):
                self._phrasing_postings.setdefault(term, []).append(position)
        self._grams: dict[str, list[str]] = {}
        self._gram_count: dict[str, int] = {}
        for term in self._weight:
            if len(term) >= 4:
                grams = t.char_grams(term)
                self._gram_count[term] = len(grams)
                for gram in grams:
                    self._grams.setdefault(gram, []).append(term)

    def _lookalike(self, term: str) -> tuple[str, float] | None:
        """Return the FAQ term closest to an unknown term by character grams, with its similarity."""
        if len(term) < 4:
            return None
        grams = t.char_grams(term)
        shared: dict[str, int] = {}
        for gram in grams:
            for candidate in self._grams.get(gram, ()):
                shared[candidate] = shared.get(candidate, 0) + 1
        best, best_similarity = None, 0.0
        for candidate, n in shared.items():
            similarity = 2 * n / (len(grams) + self._gram_count[candidate])
            if similarity > best_similarity or (similarity == best_similarity and candidate < best):
                best, best_similarity = candidate, similarity
        if best is None or best_similarity < _FUZZY_MIN:
            return None
        # A shared beginning of five letters is a shared root («развесной», «развес»).
        if best_similarity < _PREFIX_SIMILARITY and _common_prefix(best, term) >= 5:
            best_similarity = _PREFIX_SIMILARITY
        return best, best_similarity

    def _known(self, word: str) -> bool:
        return t.stem(word) in self._weight or t.is_known_word(word)

    def _repair_layout(self, text: str) -> str:
        """Turn runs typed on the Latin layout into Russian when the FAQ or the general lists know the result."""
        lowered = text.lower()
        if not t.LATIN_RUN.search(lowered):
            return text
        pieces, last = [], 0
        for run in t.LATIN_RUN.finditer(lowered):
            word = run.group(0)
            stripped = word.strip(",.;'")
            if stripped and self._known(t.normalize(stripped)):
                continue  # a Latin word the FAQ itself uses («СДЭК» written cdek stays)
            converted = t.normalize(t.from_latin_layout(word))
            words = converted.split()
            if words and all(self._known(w) or self._lookalike(t.stem(w)) for w in words):
                pieces.append(text[last : run.start()])
                pieces.append(" " + converted + " ")
                last = run.end()
        pieces.append(text[last:])
        return "".join(pieces)

    # ----------------------------------------------------------------------- scoring

    def _message_terms(self, text: str) -> tuple[dict[str, float], int]:
        """Return the message's FAQ terms with how sure each is (1 exact, less for a lookalike),
        and how many of its words are unknown to the FAQ and not names."""
        text = self._repair_layout(t.repair_lookalikes(text[:_MAX_MESSAGE_CHARS]))
        names = _names(text)
        known: dict[str, float] = {}
        unknown: set[str] = set()
        everyday: set[str] = set()
        for word in t.content_words(text):
            term = t.stem(word)
            if term in self._weight:
                known[term] = 1.0
                continue
            if term in t.COMMON_TERMS or term in t.FRAME_TERMS:
                everyday.add(term)  # an everyday word the FAQ does not use: a weak sign of a topic it lacks
                continue
            found = self._lookalike(term)
            if found is not None:
                known[found[0]] = max(found[1], known.get(found[0], 0.0))
            elif word not in names:
                unknown.add(term)
        return known, len(unknown) + _EVERYDAY_UNKNOWN * len(everyday)

    def _score(
        self, known: dict[str, float], unknown: float = 0, skip: int | None = None
    ) -> list[tuple[float, int]]:
        """Score every entry that shares a term with the message; `skip` leaves one phrasing out."""
        if not known:
            return []
        weight = self._weight
        total = sum(weight[term] for term in known) + min(unknown, _UNKNOWN_MOST) * self._unknown_weight
        skipped_entry = self._phrasings[skip].entry_index if skip is not None else None
        # Accumulate along the postings: only entries and phrasings that share a term are touched.
        tally = _Tally()
        have: dict[int, float] = {}
        for term, sureness in known.items():
            gain = weight[term] * sureness
            telling = term not in self._generic and sureness >= 0.6
            for index, field in self._postings.get(term, ()):
                if index != skipped_entry:
                    tally.add(index, gain, field, telling)
            for position in self._phrasing_postings.get(term, ()):
                if position != skip:
                    have[position] = have.get(position, 0.0) + gain
        if skipped_entry is not None:
            fields = self._fields_without(skipped_entry, skip)
            for term, sureness in known.items():
                if term in fields:
                    telling = term not in self._generic and sureness >= 0.6
                    tally.add(skipped_entry, weight[term] * sureness, fields[term], telling)
        specific = tally.specific()
        coverage: dict[int, float] = {}
        for position, amount in have.items():
            phrasing = self._phrasings[position]
            share = amount / self._phrasing_weight[position]
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

    def _fields_without(self, index: int, skip: int) -> dict[str, float]:
        fields = {term: _ANSWER_WEIGHT for term in t.terms(self.entries[index].answer)}
        for position in self._entry_phrasings[index]:
            if position != skip:
                for term in self._phrasings[position].terms:
                    fields[term] = 1.0
        return fields

    def score_all(self, text: str) -> list[FaqMatch]:
        """Score every entry that shares anything with the message, best first."""
        known, unknown = self._message_terms(text)
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
        if not self._question_positions:
            return SURE_FLOOR
        outcomes: list[tuple[float, float, bool]] = []  # (best score, runner-up's, best is the own entry)
        for position in self._question_positions[:: max(1, len(self._question_positions) // _CALIBRATION_SAMPLE)]:
            own = self._phrasings[position].entry_index
            known = {term: 1.0 for term in self._phrasings[position].terms}
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
        known, unknown = self._message_terms(text)
        scored = self._score(known, unknown)
        ranked = [FaqMatch(self.entries[index], round(min(score, 1.0), 4)) for score, index in scored]
        best = ranked[0] if ranked else None
        runner_up = ranked[1] if len(ranked) > 1 else None
        if best is None or best.score < self.likely_score:
            return FaqVerdict(NONE, best, runner_up)
        second = runner_up.score if runner_up else 0.0
        if self._leads(best.score, second, self.margin) and not self._never_sure(text, known, unknown):
            if best.score >= self.min_score:
                return FaqVerdict(SURE, best, runner_up)
            # A lower score is enough when the message asks with several of the entry's own specific words.
            if best.score >= self.min_score * _MANY_WORDS_SHARE and self._specific_count(known, scored[0][1]) >= _MANY_WORDS:
                return FaqVerdict(SURE, best, runner_up)
        if self._leads(best.score, second, self.margin * _LIKELY_LEAD_SHARE):
            return FaqVerdict(LIKELY, best, runner_up)
        return FaqVerdict(NONE, best, runner_up)

    def never_sure(self, text: str) -> bool:
        """Tell whether a message may at most get a suggestion, whatever it scores (see `_never_sure`)."""
        return self._never_sure(text, *self._message_terms(text))

    def _never_sure(self, text: str, known: dict[str, float], unknown: float) -> bool:
        """Thanks and «ок» without a question mark close a talk; an order number with no question names an
        order; a word the FAQ does not know beside only one specific word it does («криптой оплатить можно?»,
        «бонусы сгорают?») is as often as not the question the FAQ lacks."""
        if t.is_closing_remark(text) or t.is_order_reference(text):
            return True
        return unknown >= 1 and sum(1 for term in known if term not in self._generic) <= _NARROW_TERMS

    @staticmethod
    def _leads(best: float, second: float, margin: float) -> bool:
        """Tell whether the best score leads the runner-up by `margin` of itself (0.2: second ≤ 80 % of best)."""
        return best > 0 and second <= best * (1 - margin) + 1e-9

    def _specific_count(self, known: dict[str, float], index: int) -> int:
        """Return how many specific terms of the message entry `index` uses (in any field)."""
        fields = self._fields[index]
        return sum(1 for term, sureness in known.items()
                   if term in fields and term not in self._generic and sureness >= 0.6)

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
