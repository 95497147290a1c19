"""Benchmark the FAQ matcher against difflib's get_close_matches: quality and speed.

Run as `python -m tests.bench_faq`; it prints a Markdown table. Quality is measured on
tests/data/faq_eval.csv against data/faq.csv; speed on a synthetic FAQ of 1,000 entries
× 3 phrasings built deterministically from the starter FAQ's words. Not a pytest module:
tests/test_faq.py imports the evaluation helpers from here.
"""

from __future__ import annotations

import csv
import random
import re
import statistics
import time
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Callable, Sequence

from supportbot.faq import FaqEntry, FaqMatcher, load_faq

ROOT = Path(__file__).resolve().parent.parent
FAQ_PATH = ROOT / "data" / "faq.csv"
EVAL_PATH = ROOT / "tests" / "data" / "faq_eval.csv"
BASELINE_CUTOFF = 0.6


@dataclass(frozen=True)
class EvalCase:
    message: str
    expected: str  # the entry's first phrasing, "" when the bot should not answer


@dataclass(frozen=True)
class Quality:
    precision: float
    recall: float
    answered: int
    correct: int
    expecting: int


def read_eval(path: Path = EVAL_PATH) -> list[EvalCase]:
    """Read the evaluation set: columns message,expected."""
    with open(path, encoding="utf-8-sig", newline="") as file:
        return [EvalCase(row["message"], row["expected"].strip()) for row in csv.DictReader(file)]


def measure(answer: Callable[[str], str], cases: Sequence[EvalCase]) -> Quality:
    """Score an answer function (message → first phrasing or "") on the evaluation set."""
    answered = correct = 0
    for case in cases:
        got = answer(case.message)
        if got:
            answered += 1
            correct += got == case.expected
    expecting = sum(1 for case in cases if case.expected)
    return Quality(
        precision=correct / answered if answered else 1.0,
        recall=correct / expecting if expecting else 1.0,
        answered=answered,
        correct=correct,
        expecting=expecting,
    )


def matcher_answer(matcher: FaqMatcher) -> Callable[[str], str]:
    """Return an answer function for the project's matcher."""

    def answer(message: str) -> str:
        found = matcher.match(message)
        return found.entry.questions[0] if found else ""

    return answer


def baseline_answer(entries: Sequence[FaqEntry]) -> Callable[[str], str]:
    """Return an answer function for difflib.get_close_matches over lower-cased phrasings."""
    first_phrasing: dict[str, str] = {}
    for entry in entries:
        for question in entry.questions:
            first_phrasing.setdefault(question.lower(), entry.questions[0])
    choices = list(first_phrasing)

    def answer(message: str) -> str:
        found = get_close_matches(message.lower(), choices, n=1, cutoff=BASELINE_CUTOFF)
        return first_phrasing[found[0]] if found else ""

    return answer


def synthetic_faq(
    entries: Sequence[FaqEntry], size: int = 1000, phrasings: int = 3, seed: int = 20240601
) -> tuple[FaqEntry, ...]:
    """Build a FAQ of `size` entries from the words of `entries`, the same for the same seed."""
    rng = random.Random(seed)
    question_words = sorted({w for e in entries for q in e.questions for w in re.findall(r"\w+", q.lower())})
    answer_words = sorted({w for e in entries for w in re.findall(r"\w+", e.answer.lower())})
    vocabulary = sorted(set(question_words) | set(answer_words))
    built = []
    for number in range(1, size + 1):
        questions = tuple(
            " ".join(rng.sample(vocabulary, rng.randint(3, 7))).capitalize() + "?" for _ in range(phrasings)
        )
        answer = " ".join(rng.choices(answer_words, k=rng.randint(8, 20))).capitalize() + "."
        keywords = tuple(rng.sample(question_words, rng.randint(0, 2)))
        built.append(FaqEntry(number=number, questions=questions, answer=answer, keywords=keywords))
    return tuple(built)


def time_per_query(answer: Callable[[str], str], messages: Sequence[str]) -> tuple[float, float]:
    """Return the median and 95th percentile time of one call, in milliseconds."""
    times = []
    for message in messages:
        started = time.perf_counter()
        answer(message)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    entries = load_faq(FAQ_PATH)
    cases = read_eval()
    messages = [case.message for case in cases]
    big = synthetic_faq(entries)

    started = time.perf_counter()
    big_matcher = FaqMatcher(big)
    build_ms = (time.perf_counter() - started) * 1000

    rows = []
    for name, answer, big_answer in (
        ("supportbot.faq.FaqMatcher", matcher_answer(FaqMatcher(entries)), matcher_answer(big_matcher)),
        (
            f"difflib.get_close_matches (cutoff {BASELINE_CUTOFF})",
            baseline_answer(entries),
            baseline_answer(big),
        ),
    ):
        quality = measure(answer, cases)
        median_ms, p95_ms = time_per_query(big_answer, messages)
        rows.append((name, quality, median_ms, p95_ms))

    expecting = rows[0][1].expecting
    print(
        f"Evaluation: {len(cases)} messages, {expecting} expect an answer, "
        f"{len(cases) - expecting} expect none; FAQ: {len(entries)} entries.\n"
        f"Timing: synthetic FAQ of {len(big)} entries × 3 phrasings, one call per message, one core.\n"
    )
    print("| matcher | precision | recall | answered | median ms/query | p95 ms/query |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, quality, median_ms, p95_ms in rows:
        print(
            f"| {name} | {quality.precision:.3f} | {quality.recall:.3f} | "
            f"{quality.answered} ({quality.correct} right) | {median_ms:.2f} | {p95_ms:.2f} |"
        )
    print(f"\nBuilding the synthetic matcher took {build_ms:.0f} ms.")


if __name__ == "__main__":
    main()
