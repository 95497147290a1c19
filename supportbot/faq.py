"""FAQ: load the owner's CSV, match customer messages to its entries, offer canned replies.

This module does no I/O except reading the FAQ file (and, in `main`, the standard
streams); it imports neither telebot nor sqlite3 and reads no environment variables.
The bot hands it text and gets entries back.

Matching in short: a message is normalised (case, ё, punctuation, stretched letters,
filler words) and cut into light stems; a few domain roots and word classes are folded
together («вернуть» and «возврат» share a root, «куртку» stands for «товар»). Stems are
weighted by how few entries use them. An inverted index stem → phrasings picks candidates;
each gets a score from the weighted share of its stems the message covers, the share of
the message its entry knows (questions, keywords, weakly the answer), a token-level
SequenceMatcher and a character ratio. An entry answers only above `min_score` and only
when it beats the runner-up entry by `margin`.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import math
import re
import sys
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, TextIO

# Threshold and margin tuned on tests/data/faq_eval.csv (`python -m tests.bench_faq` prints
# precision and recall); the config key FAQ_MIN_SCORE overrides the threshold.
DEFAULT_MIN_SCORE: float = 0.58
# The best entry must beat the second best by this much, otherwise the bot keeps quiet:
# a wrong canned answer is worse than an operator's reply a minute later.
DEFAULT_MARGIN: float = 0.05
# `find` serves operators who type a few words on purpose: best entry, lower bar, no margin.
FIND_MIN_SCORE: float = 0.3

# Parts of a phrasing's score; the weights add up to 1.
_W_PHRASING_COVERED = 0.40  # weighted share of the phrasing's stems found in the message
_W_MESSAGE_EXPLAINED = 0.32  # weighted share of the message's stems the entry knows
_W_TOKEN_RATIO = 0.14  # SequenceMatcher over stem lists: word order, extra words
_W_CHAR_RATIO = 0.14  # SequenceMatcher over normalised text: what the stems miss
# A keyword is scored like a short phrasing but counts for less, being only a hint; a message
# containing every stem of a keyword adds a small bonus to that keyword's entry.
_KEYWORD_PHRASING_FACTOR = 0.8
_KEYWORD_BONUS = 0.05
# Similarity of two different stems: same root by prefix, or one typo apart.
_PREFIX_SIMILARITY = 0.85
_TYPO_SIMILARITY = 0.75
# Most a question frame («сколько», «как», «стоит») may weigh, whatever its rarity.
_FRAME_WEIGHT = 1.0
# How much a message word counts as explained when only the entry's answer uses it.
_ANSWER_FACTOR = 0.5
# Share of the score that depends on how specific the matched words are.
_SPECIFICITY = 0.3
# Candidates kept after the dictionary stage and after the stem stage.
_COARSE_CANDIDATES = 60
_FULL_CANDIDATES = 24
# Telegram allows 4096 characters; a FAQ question is said in far fewer.
_MAX_MESSAGE_CHARS = 1000


class FaqError(Exception):
    """A FAQ file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class FaqEntry:
    number: int
    questions: tuple[str, ...]
    answer: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    score: float


# --------------------------------------------------------------------------- text


_NON_WORD = re.compile(r"[\W_]+")
_REPEATED_LETTER = re.compile(r"([^\W\d_])\1+")

_FILLER_WORDS_RAW = """
здравствуйте здраствуйте здрасте здрасьте здравствуй привет приветствую доброго добрый доброе
день дня вечер вечера утро утра хай
подскажите подскажи скажите скажи расскажите пожалуйста пожалуйсто пожалуста пжл пж плиз пожалуй
а и ну но да нет или ли же ж бы вот вообще просто тогда типа кстати еще ещё уже тоже также
можно могу можете может мочь нельзя надо нужно нужен нужна нужны хочу хотел хотела хотелось хотим
у вас вы вам вами ваш ваша ваше ваши вашего вашей вашем вашу вашим вашими ваших вашему
я мне меня мной мы нам нас нами наш наша наше наши нашего нашей нашем нашу нашим нашими наших
мой моя мое моё мои моего моей мою моем моим моими моих моему
он она оно они его ее её их им ему ней нем
это этот эта эти этого этой тот та то те так такой такая такие тут там здесь сюда
есть будет буду будут был была было были быть является
в во на с со по к ко о об обо от из за для до при про без через над под
что чтобы чем если ведь лишь делать сделать
"""
# Question frames carry the form of a question, not its topic: «сколько стоит» fits the
# delivery price and the price of a jacket alike, so they weigh at most _FRAME_WEIGHT.
_FRAME_WORDS_RAW = (
    "как какой какая какие каким когда где куда откуда сколько почему зачем кто чем стоит стоимость цена"
)
# Word classes: a word whose stem is listed here (followed by a plain ending) stands for
# its class. Labels are Latin so that no Russian stem shares a prefix with them. The shop
# sells clothes, shoes and accessories: a customer names the thing («куртку», «кроссовки»),
# the FAQ says «товар».
_WORD_CLASSES_RAW: dict[str, str] = {
    "item": "товар вещ покупк одежд обув куртк пуховик пальт плащ ветровк плать юбк брюк джинс "
    "шорт футболк майк рубашк блузк свитер кофт худи толстовк костюм пиджак жилет жилетк "
    "кросовк кросовок кед ботинк ботинок сапог туфл туфел босоножк сандали тапочк тапок "
    "шапк шарф перчатк варежк носк носок колготк бель рюкзак сумк ремн ремень кошелек кошельк аксесуар",
    "weekday": "выходн праздник праздничн понедельник вторник сред четверг пятниц суббот воскресень",
    "duration": "срок быстр долг жд врем времен",
}
_CANONICAL_ROOTS_RAW: tuple[tuple[str, str], ...] = (
    # Irregular or suppletive forms that a suffix stripper cannot bring together.
    (r"верн[уиеё]|возвра", "возврат"),
    (r"ско(к|льк|лк)", "скольк"),
    (r"стои[тм]|стоить|цен[аыуео]?$|ценник", "цена"),
    (r"(о|за|пере)?пла(т(?![нь])|ч)", "оплат"),  # not «платная», «платье»
    # A label no Russian stem starts with, so «в наличии» (in stock) stays apart from cash.
    (r"наличн|наличк|налик|нал$", "cash"),
    (r"сд[эе]к|cdek", "сдэк"),
    (r"пром(о|ик)", "промокод"),
    (r"скид", "скидк"),
    (r"карт(а|ы|у|ой|е|ам|ами|ах|очк|оч)?$|карточ", "карт"),
    (r"серт", "сертификат"),
    (r"e?mail$|[еи]м[еэ]йл|м[еэ]йл|емайл|имейл|email", "почт"),
    (r"заб(ер|ир|р)", "забр"),
    (r"прив[оеё]з", "привез"),
    (r"отправ|отсыла|высыла|пересыла|пришл[иеё]т", "отправ"),
    (r"(по)?меня[тйлюев]", "измен"),  # not «меня», «менеджер»
    (r"отсле[дж]", "отслед"),
    (r"брак|слома|полома|порва|отклеи|расклеи|треснул|разош", "брак"),
    (r"гаранти", "гарант"),
    (r"регистр|зарегистр", "регистр"),
    (r"зака[зж]", "заказ"),
    (r"работ|рабоч", "работ"),
    (r"откры|открое|закры|закрое", "откр"),  # opening and closing time: both the hours
    (r"(по|до)?звон", "звон"),
    (r"связ", "связ"),
    (r"добира|добрат|доех|доед|проех|пройт|дойт", "добрат"),
    (r"наход|располож|найт[иь]$|найд", "наход"),
    (r"регион|област", "регион"),
    (r"казахстан|беларус|белорус|армени|киргиз|узбек|снг$|заграниц|границ|зарубеж", "заграниц"),
    (r"размер", "размер"),
    (r"маломер|большемер", "маломер"),
)
_ENDINGS: tuple[str, ...] = tuple(
    sorted(
        set(
            # nouns
            "ами ями ах ях ам ям ов ев ью ия ие ии ию ья ье ьи ость ости остью остей "
            "а я о е ы и у ю ь й "
            # adjectives
            "ыми ими ого его ому ему ая яя ое ее ые ие ый ий ой ей ую юю ым им ом ем ых их "
            # verbs
            "ать ять еть ить уть ыть ти ешь ишь ете ите ет ит ут ют ат ят "
            "ал ала ало али ил ила ило или ел ела ело ели ул ула ули "
            "аю яю аешь аете ает ают аем яет яют айте ейте".split()
        ),
        key=len,
        reverse=True,
    )
)
_REFLEXIVE = ("ся", "сь")


def normalize(text: str) -> str:
    """Lower-case, ё→е, punctuation to spaces, stretched letters squeezed, spaces collapsed."""
    text = text.lower().replace("ё", "е")
    text = _NON_WORD.sub(" ", text)
    text = _REPEATED_LETTER.sub(r"\1", text)
    return " ".join(text.split())


_FILLER_WORDS = frozenset(normalize(_FILLER_WORDS_RAW).split())
_CANONICAL_ROOTS = tuple((re.compile(pattern), root) for pattern, root in _CANONICAL_ROOTS_RAW)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Return a light stem of a normalised word: its class or root, else the word minus its ending."""
    for cut in range(len(word), 1, -1):
        word_class = _WORD_CLASS_OF_STEM.get(word[:cut])
        if word_class and (cut == len(word) or word[cut:] in _ENDING_SET):
            return word_class
    for pattern, root in _CANONICAL_ROOTS:
        if pattern.match(word):
            return root
    return _strip_ending(word)


def _strip_ending(word: str) -> str:
    if len(word) <= 3 or not ("а" <= word[0] <= "я"):
        return word
    for suffix in _REFLEXIVE:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def content_words(text: str) -> list[str]:
    """Return the normalised words of a text without filler words and bare numbers."""
    return [w for w in normalize(text).split() if w not in _FILLER_WORDS and not w.isdigit()]


def stems(text: str) -> list[str]:
    """Return the stems of a text's content words, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in content_words(text):
        seen.setdefault(stem(word), None)
    return list(seen)


_WORD_CLASS_OF_STEM = {
    class_stem: label
    for label, class_stems in _WORD_CLASSES_RAW.items()
    for class_stem in class_stems.split()
}
_ENDING_SET = frozenset(_ENDINGS)
_FRAME_STEMS = frozenset(stem(word) for word in normalize(_FRAME_WORDS_RAW).split())


def stem_similarity(a: str, b: str) -> float:
    """Return how close two stems are: 1 equal, less for a shared root or a typo, 0 unrelated."""
    if a == b:
        return 1.0
    common = 0
    for x, y in zip(a, b):
        if x != y:
            break
        common += 1
    shorter = min(len(a), len(b))
    if common >= 5 or (common >= 4 and common >= shorter - 1):
        return _PREFIX_SIMILARITY
    if shorter >= 4 and abs(len(a) - len(b)) <= 1 and _one_typo_apart(a, b):
        return _TYPO_SIMILARITY
    return 0.0


def _idf(entry_count: int, entries_with_stem: int) -> float:
    return math.log(1.0 + entry_count / entries_with_stem)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_typo_apart(a: str, b: str) -> bool:
    """Tell whether one insertion, deletion, substitution or swap of neighbours turns a into b."""
    if len(a) > len(b):
        a, b = b, a
    if len(a) + 1 == len(b):
        return a in _deletions(b)
    if len(a) != len(b):
        return False
    differ = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    if len(differ) == 1:
        return True
    if len(differ) != 2 or differ[1] != differ[0] + 1:
        return False
    i, j = differ
    return a[i] == b[j] and a[j] == b[i]


# --------------------------------------------------------------------------- loading


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
        raise FaqError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parse_faq(_decode(raw, path.name), path.name)


def parse_faq(text: str, name: str = "faq.csv") -> tuple[FaqEntry, ...]:
    """Parse FAQ CSV text; `name` prefixes error messages."""
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=first_line.count) if first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: dict[str, int] | None = None
    entries: list[FaqEntry] = []
    row_start = 1
    try:
        for row in reader:
            line_number, row_start = row_start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                columns = _header_columns(row, name, line_number)
                continue
            entries.append(_entry_from_row(row, columns, len(entries) + 1, name, line_number))
    except csv.Error as exc:
        raise FaqError(f"{name} line {reader.line_num}: {exc}") from exc
    if columns is None:
        raise FaqError(f"{name} line 1: no header row (expected question,answer,keywords)")
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
                f"{name} line {line}: undecodable bytes (neither UTF-8 nor cp1251)"
            ) from utf8_error


def _decode_strict(raw: bytes, encoding: str, name: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].decode(encoding, errors="replace").count("\n") + 1
        raise FaqError(f"{name} line {line}: undecodable bytes (not valid {encoding.upper()})") from exc


def _header_columns(row: list[str], name: str, line_number: int) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(row):
        key = _HEADER_ALIASES.get(" ".join(cell.strip().lstrip("\ufeff").lower().split()))
        if key and key not in columns:
            columns[key] = index
    for required in ("question", "answer"):
        if required not in columns:
            raise FaqError(
                f"{name} line {line_number}: missing column '{required}' "
                f"(expected a header question,answer,keywords)"
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
        raise FaqError(f"{name} line {line_number}: empty question")
    answer = cell("answer")
    if not answer:
        raise FaqError(f"{name} line {line_number}: empty answer")
    keywords = tuple(k.strip() for k in _KEYWORD_SEPARATORS.split(cell("keywords")) if k.strip())
    return FaqEntry(number=number, questions=questions, answer=answer, keywords=keywords)


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class _Phrasing:
    entry_index: int
    stems: tuple[str, ...]
    text: str  # normalised content words, for the character ratio
    total_weight: float
    is_keyword: bool


class FaqMatcher:
    """Pick the FAQ entry that answers a customer's message, or none."""

    def __init__(
        self,
        entries: Iterable[FaqEntry],
        min_score: float = DEFAULT_MIN_SCORE,
        *,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        self.entries: tuple[FaqEntry, ...] = tuple(entries)
        self.min_score = min_score
        self.margin = margin
        self._build_index()

    def _build_index(self) -> None:
        texts: list[tuple[int, str, bool]] = []
        for index, entry in enumerate(self.entries):
            texts.extend((index, question, False) for question in entry.questions)
            texts.extend((index, keyword, True) for keyword in entry.keywords)
        stemmed = [(index, tuple(stems(text)), text, is_keyword) for index, text, is_keyword in texts]

        # Weights: a stem found in few entries tells more (inverse entry frequency).
        self._entry_stems: list[set[str]] = [set() for _ in self.entries]
        for index, phrasing_stems, _, _ in stemmed:
            self._entry_stems[index].update(phrasing_stems)
        entries_with_stem: dict[str, int] = {}
        for entry_stems in self._entry_stems:
            for s in entry_stems:
                entries_with_stem[s] = entries_with_stem.get(s, 0) + 1
        count = max(len(self.entries), 1)
        self._weights = {s: _idf(count, found) for s, found in entries_with_stem.items()}
        for s in _FRAME_STEMS & self._weights.keys():
            self._weights[s] = min(self._weights[s], _FRAME_WEIGHT)
        # A message word the FAQ never uses (a city, a topic the FAQ lacks) weighs like its rarest word.
        self._unknown_weight = _idf(count, 1)
        # The answer's own words vouch, weakly, for a message word the questions lack
        # («оплата курьеру»: the payment answer mentions the courier).
        self._answer_roots = [frozenset(s[:5] for s in stems(entry.answer)) for entry in self.entries]

        self._phrasings: list[_Phrasing] = []
        self._postings: dict[str, list[int]] = {}
        self._keyword_stems: list[list[tuple[str, ...]]] = [[] for _ in self.entries]
        for index, phrasing_stems, text, is_keyword in stemmed:
            if not phrasing_stems:
                continue
            if is_keyword:
                self._keyword_stems[index].append(phrasing_stems)
            position = len(self._phrasings)
            self._phrasings.append(
                _Phrasing(
                    entry_index=index,
                    stems=phrasing_stems,
                    text=" ".join(content_words(text)),
                    total_weight=sum(self._weights[s] for s in phrasing_stems),
                    is_keyword=is_keyword,
                )
            )
            for s in phrasing_stems:
                self._postings.setdefault(s, []).append(position)

        # Lookups for stems that are not in the FAQ as such: same first letters, or one typo off.
        self._by_prefix: dict[str, list[str]] = {}
        self._by_deletion: dict[str, list[str]] = {}
        for s in self._weights:
            if len(s) >= 4:
                self._by_prefix.setdefault(s[:4], []).append(s)
                for variant in _deletions(s) | {s}:
                    self._by_deletion.setdefault(variant, []).append(s)

    def _similar_vocabulary(self, message_stem: str) -> dict[str, float]:
        """Return the FAQ stems close to one message stem, with their similarity."""
        found: dict[str, float] = {}
        if message_stem in self._weights:
            found[message_stem] = 1.0
        if len(message_stem) >= 4:
            neighbours = set(self._by_prefix.get(message_stem[:4], ()))
            for variant in _deletions(message_stem) | {message_stem}:
                neighbours.update(self._by_deletion.get(variant, ()))
            for candidate in neighbours - found.keys():
                similarity = stem_similarity(message_stem, candidate)
                if similarity:
                    found[candidate] = similarity
        return found

    def score_all(self, text: str) -> list[FaqMatch]:
        """Score every entry that shares anything with the message, best first."""
        text = text[:_MAX_MESSAGE_CHARS]
        message_stems = stems(text)
        if not message_stems or not self._phrasings:
            return []
        similar = [self._similar_vocabulary(s) for s in message_stems]
        message_weights = [
            max((self._weights[v] for v in found), default=self._unknown_weight) for found in similar
        ]
        message_total = sum(message_weights)
        best_similarity: dict[str, float] = {}
        for found in similar:
            for faq_stem, similarity in found.items():
                if similarity > best_similarity.get(faq_stem, 0.0):
                    best_similarity[faq_stem] = similarity

        # Stage 1, dictionary work only: how much of each phrasing the message covers.
        covered: dict[int, float] = {}
        for faq_stem, similarity in best_similarity.items():
            gain = similarity * self._weights[faq_stem]
            for position in self._postings.get(faq_stem, ()):
                covered[position] = covered.get(position, 0.0) + gain
        if not covered:
            return []
        phrasings = self._phrasings
        shortlist = sorted(
            covered, key=lambda p: covered[p] / phrasings[p].total_weight, reverse=True
        )[:_COARSE_CANDIDATES]

        # Stage 2: add how much of the message the entry explains; keep the best few.
        explained: dict[int, float] = {}
        rough: list[tuple[float, int]] = []
        for position in shortlist:
            index = phrasings[position].entry_index
            if index not in explained:
                explained[index] = self._explained_share(index, message_stems, similar, message_weights)
            phrasing_share = covered[position] / phrasings[position].total_weight
            message_share = explained[index] / message_total
            partial = _W_PHRASING_COVERED * phrasing_share + _W_MESSAGE_EXPLAINED * message_share
            rough.append((partial, position))
        rough.sort(reverse=True)

        # Stage 3: SequenceMatcher over stems and characters for the finalists. The token
        # ratio compares stems, so a message stem is replaced by the FAQ stem it matched.
        canonical_message = [
            max(found, key=found.get) if found else s for s, found in zip(message_stems, similar)
        ]
        tokens = SequenceMatcher(autojunk=False)
        tokens.set_seq2(canonical_message)
        chars = SequenceMatcher(autojunk=False)
        chars.set_seq2(" ".join(content_words(text)))
        rarest = _idf(len(self.entries), 1)
        entry_scores: dict[int, float] = {}
        for partial, position in rough[:_FULL_CANDIDATES]:
            phrasing = phrasings[position]
            tokens.set_seq1(phrasing.stems)
            chars.set_seq1(phrasing.text)
            score = partial + _W_TOKEN_RATIO * tokens.ratio() + _W_CHAR_RATIO * chars.ratio()
            # A match resting on one common word («заказ 12345») is weak however well it covers.
            score *= 1 - _SPECIFICITY + _SPECIFICITY * min(1.0, covered[position] / rarest)
            if phrasing.is_keyword:
                score *= _KEYWORD_PHRASING_FACTOR
            index = phrasing.entry_index
            if score > entry_scores.get(index, 0.0):
                entry_scores[index] = score

        strong = {s for s, similarity in best_similarity.items() if similarity >= _PREFIX_SIMILARITY}
        for index in entry_scores:
            if any(all(s in strong for s in keyword) for keyword in self._keyword_stems[index]):
                entry_scores[index] += _KEYWORD_BONUS

        ranked = sorted(entry_scores.items(), key=lambda item: (-item[1], item[0]))
        return [FaqMatch(self.entries[index], round(min(score, 1.0), 4)) for index, score in ranked]

    def _explained_share(
        self,
        index: int,
        message_stems: list[str],
        similar: list[dict[str, float]],
        message_weights: list[float],
    ) -> float:
        """Return the weight of the message's stems that entry `index` knows (questions, keywords, answer)."""
        vocabulary = self._entry_stems[index]
        answer_roots = self._answer_roots[index]
        total = 0.0
        for message_stem, found, weight in zip(message_stems, similar, message_weights):
            known = max((found[v] for v in found if v in vocabulary), default=0.0)
            if known < _ANSWER_FACTOR and message_stem[:5] in answer_roots:
                known = _ANSWER_FACTOR
            total += weight * known
        return total

    def match(self, text: str) -> FaqMatch | None:
        """Return the entry that clearly answers the message, or None to leave it to an operator."""
        ranked = self.score_all(text)
        if not ranked or ranked[0].score < self.min_score:
            return None
        if len(ranked) > 1 and ranked[0].score - ranked[1].score < self.margin:
            return None
        return ranked[0]

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


# --------------------------------------------------------------------------- reloading


_NOT_CHECKED = object()


class FaqFile:
    """Holds the last good FAQ of a file and reloads it when the file changes (mtime+size),
    keeping the last good one when the new one is broken."""

    def __init__(self, path: Path, min_score: float = DEFAULT_MIN_SCORE) -> None:
        self.path = Path(path)
        self.min_score = min_score
        self.matcher = FaqMatcher((), min_score)
        self.error: str | None = None
        self._signature: tuple[int, int] | None | object = _NOT_CHECKED
        self.reload_if_changed()

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def reload_if_changed(self) -> str | None:
        """Reload when the file changed: None if nothing changed, "" if reloaded, else the error once."""
        signature = self._stat()  # None while the file is missing
        if signature == self._signature:
            return None
        self._signature = signature
        try:
            entries = load_faq(self.path)
        except FaqError as exc:
            self.error = str(exc)
            return self.error
        self.matcher = FaqMatcher(entries, self.min_score)
        self.error = None
        return ""


# --------------------------------------------------------------------------- owner's tool


def default_faq_path() -> Path:
    """Return data/faq.csv next to the package."""
    return Path(__file__).resolve().parent.parent / "data" / "faq.csv"


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


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="supportbot faq",
        description="Show what the bot would answer from the FAQ, without Telegram or a database.",
    )
    parser.add_argument("message", nargs="?", help="a customer's message")
    parser.add_argument("--batch", action="store_true", help="read one message per line from stdin")
    parser.add_argument("--faq", type=Path, default=None, help="FAQ CSV (default: data/faq.csv)")
    parser.add_argument("--min-score", type=float, default=None, help="answer threshold, 0..1")
    args = parser.parse_args(argv)
    if args.batch == (args.message is not None):
        parser.error("give either a message or --batch")
    if args.min_score is not None and not 0.0 <= args.min_score <= 1.0:
        parser.error("--min-score must be between 0 and 1")
    return args


def main(
    argv: list[str],
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the owner's FAQ tool: answer one message, or a batch from stdin; return the exit code."""
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else _utf8_stream(sys.stdout)
    stderr = stderr if stderr is not None else _utf8_stream(sys.stderr)
    try:
        args = _parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage already
        return exc.code if isinstance(exc.code, int) else 2
    path = args.faq or default_faq_path()
    try:
        entries = load_faq(path)
    except FaqError as exc:
        print(f"error: {exc}", file=stderr)
        return 2
    min_score = DEFAULT_MIN_SCORE if args.min_score is None else args.min_score
    matcher = FaqMatcher(entries, min_score)

    if args.batch:
        for line in _input_lines(stdin):
            found = matcher.match(line)
            if found is None:
                stdout.write("0.00\t\n")
            else:
                stdout.write(f"{found.score:.2f}\t{found.entry.questions[0]}\n")
            stdout.flush()
        return 0

    found = matcher.match(args.message)
    if found is not None:
        print(f"Вопрос №{found.entry.number}: {found.entry.questions[0]}", file=stdout)
        print(f"Совпадение: {found.score:.2f}", file=stdout)
        print(f"Ответ: {found.entry.answer}", file=stdout)
        return 0
    ranked = matcher.score_all(args.message)
    if not ranked:
        print("Ничего не подходит: бот не ответит сам.", file=stdout)
    elif ranked[0].score < min_score:
        best = ranked[0]
        print(
            f"Ничего не подходит: бот не ответит сам "
            f"(ближе всего «{best.entry.questions[0]}», {best.score:.2f} < {min_score:.2f}).",
            file=stdout,
        )
    else:
        first, second = ranked[0], ranked[1]
        print(
            f"Ничего не подходит: бот не ответит сам — неясно, «{first.entry.questions[0]}» "
            f"({first.score:.2f}) или «{second.entry.questions[0]}» ({second.score:.2f}).",
            file=stdout,
        )
    return 0
