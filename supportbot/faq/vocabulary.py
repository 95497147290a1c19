"""What a FAQ says, as the matcher reads it: the entries' terms and weights, and a message's terms.

Built once per FAQ (pure computation, no I/O). Every term of an entry's phrasings and keywords counts
fully, of its answer less (`fields`). A term weighs more the fewer entries use it (`weight`); question
frames and everyday words weigh little whatever the FAQ does; terms a quarter of the entries ask with
are `generic` for this FAQ. A message's words are repaired first (Latin look-alike letters, text typed
on the Latin layout when the result is a word the FAQ or the general lists know), then each becomes a
FAQ term, a look-alike of one by character 3–5-grams (typos, slang), a name or model (capitalised inside
a sentence, mixing digits, Latin: no part of the score, but a Latin model or a place keeps a narrow question
from being sure), or an unknown word that counts against a match.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from . import text as t
from .entries import FaqEntry

# Field weights: what an entry's phrasings and keywords say fully counts, its answer less.
_ANSWER_WEIGHT = 0.7
# Most a question frame («сколько», «где») may weigh, however rare it is in this FAQ.
_FRAME_WEIGHT = 0.6
# Most an everyday word (text.COMMON_TERMS) may weigh, however rare it is in this FAQ.
_COMMON_WEIGHT = 0.6
# ...and one the FAQ does not use counts this much of an unknown word against a match.
_EVERYDAY_UNKNOWN = 0.5
# How much a word the FAQ does not know (and that is no name or model) weighs against a match.
_UNKNOWN_SHARE = 0.5
# How sure a lookalike sharing its first five letters with a FAQ term is.
_PREFIX_SIMILARITY = 0.8
# A character-gram lookalike must be this similar (Dice over 3–5-grams) to count, and counts that much less.
_FUZZY_MIN = 0.45
# A term used by at least this share of entries (and at least 3) is generic for this FAQ.
_GENERIC_SHARE = 0.25
# Telegram allows 4096 characters; a question is said in far fewer.
_MAX_MESSAGE_CHARS = 1000

_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?\n]\s*$")
# A capitalised word after «в», «во», «из» is most often a place («доставляете в Минск?»).
_PLACE_BEFORE = re.compile(r"(?<!\w)(?:в|во|из)\s+$", re.IGNORECASE)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _names(text: str) -> tuple[set[str], set[str]]:
    """Return the normalised words that look like names or models, and those of them that name a topic.

    A name is capitalised inside a sentence («на Сергея»; capitals mean nothing in a message typed all
    in capitals), a model mixes letters and digits («A4», «21ч») or is Latin («iPhone»). A Latin model
    and a place («в Минск», «из Твери») name what a question is about; a person's name or «21ч» do not.
    """
    found, topical = set(), set()
    shouting = text.upper() == text
    for match in _WORD.finditer(text):
        word = match.group(0)
        before = text[: match.start()]
        capitalised = (not shouting and word[0].isupper() and match.start() > 0
                       and not _SENTENCE_END.search(before))
        mixed = any(c.isdigit() for c in word) and not word.isdigit()
        latin = word.isascii() and not word.isdigit()
        if capitalised or mixed or latin:
            found.add(t.normalize(word))
            if latin or (capitalised and _PLACE_BEFORE.search(before)):
                topical.add(t.normalize(word))
    return found, topical


@dataclass(frozen=True)
class Phrasing:
    """One of an entry's question phrasings or keywords, as terms."""
    entry_index: int
    terms: tuple[str, ...]


class Vocabulary:
    """The terms of a FAQ with their weights and where they occur, and how a message maps onto them."""

    def __init__(self, entries: tuple[FaqEntry, ...]) -> None:
        self.entries = entries
        self.phrasings: list[Phrasing] = []
        # term -> field weight, per entry (the best field the entry uses it in)
        self.fields: list[dict[str, float]] = []
        self.entry_phrasings: list[list[int]] = []
        self.question_positions: list[int] = []  # question phrasings of entries with several
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
                    self.question_positions.append(len(self.phrasings))
                own.append(len(self.phrasings))
                self.phrasings.append(Phrasing(index, phrasing_terms))
                for term in phrasing_terms:
                    fields[term] = 1.0
            self.fields.append(fields)
            self.entry_phrasings.append(own)

        count = max(len(self.entries), 1)
        found_in: dict[str, int] = {}
        asked_in: dict[str, int] = {}
        for fields in self.fields:
            for term, weight in fields.items():
                found_in[term] = found_in.get(term, 0) + 1
                if weight == 1.0:
                    asked_in[term] = asked_in.get(term, 0) + 1
        self.weight = {term: math.log(1.0 + count / n) for term, n in found_in.items()}
        for term in t.FRAME_TERMS & self.weight.keys():
            self.weight[term] = min(self.weight[term], _FRAME_WEIGHT)
        for term in t.COMMON_TERMS & self.weight.keys():
            self.weight[term] = min(self.weight[term], _COMMON_WEIGHT)
        # A word the FAQ never uses counts against a match like a word of middling rarity, times a share.
        weights = sorted(self.weight.values())
        self.unknown_weight = _UNKNOWN_SHARE * (weights[len(weights) // 2] if weights else 1.0)
        generic_at = max(3, _GENERIC_SHARE * count)
        self.generic = set(t.GENERIC_TERMS) | t.FRAME_TERMS | t.COMMON_TERMS
        self.generic.update(term for term, n in asked_in.items() if n >= generic_at)

        self.postings: dict[str, list[tuple[int, float]]] = {}
        for index, fields in enumerate(self.fields):
            for term, field in fields.items():
                self.postings.setdefault(term, []).append((index, field))
        self.phrasing_postings: dict[str, list[int]] = {}
        self.phrasing_weight: list[float] = []
        for position, phrasing in enumerate(self.phrasings):
            self.phrasing_weight.append(sum(self.weight[term] for term in phrasing.terms))
            for term in set(phrasing.terms):
                self.phrasing_postings.setdefault(term, []).append(position)
        self._grams: dict[str, list[str]] = {}
        self._gram_count: dict[str, int] = {}
        for term in self.weight:
            if len(term) >= 4:
                grams = t.char_grams(term)
                self._gram_count[term] = len(grams)
                for gram in grams:
                    self._grams.setdefault(gram, []).append(term)

    def lookalike(self, term: str) -> tuple[str, float] | None:
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

    def known_word(self, word: str) -> bool:
        return t.stem(word) in self.weight or t.is_known_word(word)

    def repair_layout(self, text: str) -> str:
        """Turn runs typed on the Latin layout into Russian when the FAQ or the general lists know the result."""
        lowered = text.lower()
        if not t.LATIN_RUN.search(lowered):
            return text
        pieces, last = [], 0
        for run in t.LATIN_RUN.finditer(lowered):
            word = run.group(0)
            stripped = word.strip(",.;'")
            if stripped and self.known_word(t.normalize(stripped)):
                continue  # a Latin word the FAQ itself uses («СДЭК» written cdek stays)
            converted = t.normalize(t.from_latin_layout(word))
            words = converted.split()
            if words and all(self.known_word(w) or self.lookalike(t.stem(w)) for w in words):
                pieces.append(text[last : run.start()])
                pieces.append(" " + converted + " ")
                last = run.end()
        pieces.append(text[last:])
        return "".join(pieces)

    def message_terms(self, text: str) -> tuple[dict[str, float], float, int]:
        """Return the message's FAQ terms with how sure each is (1 exact, less for a lookalike), how
        many of its words are unknown to the FAQ and not names, and how many Latin models and places
        it names that the FAQ does not know (a person's name is no topic: «отложите на Сергея»)."""
        text = self.repair_layout(t.repair_lookalikes(text[:_MAX_MESSAGE_CHARS]))
        names, topical = _names(text)
        known: dict[str, float] = {}
        unknown: set[str] = set()
        everyday: set[str] = set()
        named: set[str] = set()
        for word in t.content_words(text):
            term = t.stem(word)
            if term in self.weight:
                known[term] = 1.0
                continue
            if term in t.COMMON_TERMS or term in t.FRAME_TERMS:
                everyday.add(term)  # an everyday word the FAQ does not use: a weak sign of a topic it lacks
                continue
            found = self.lookalike(term)
            if found is not None:
                known[found[0]] = max(found[1], known.get(found[0], 0.0))
            elif word in topical:
                named.add(term)
            elif word not in names:
                unknown.add(term)
        return known, len(unknown) + _EVERYDAY_UNKNOWN * len(everyday), len(named)

    def fields_without(self, index: int, skip: int) -> dict[str, float]:
        fields = {term: _ANSWER_WEIGHT for term in t.terms(self.entries[index].answer)}
        for position in self.entry_phrasings[index]:
            if position != skip:
                for term in self.phrasings[position].terms:
                    fields[term] = 1.0
        return fields
