"""Model-based tests of issue 10's invariants: random event sequences against the in-process shop.

Rules are the events (customers writing, editing, sending albums, blocking; operators logging in and out,
taking seats over, /next /use /done /ban /unban /transfer, replying, plain messages, editing, pressing old
and new buttons; ticks; 403s; restarts). After every step the invariants of issue 10 are checked on what
people actually received (tests/harness.py's fake Telegram). Every text carries a unique marker word
(Q<n>Z from customers, R<n>Z from operators), so a leak is a substring.

Default run: one machine checking every invariant, 100 derandomized examples of up to 30 events (about
15 s when nothing fails), no shrinking. Longer: `pytest -m slow tests/test_model.py` (each family of
invariants alone, 1000 random examples, shrunk), or SUPPORTBOT_MODEL_EXAMPLES=2000; SUPPORTBOT_MODEL_SHRINK=1
shrinks a failure of the default run (minutes). Found counterexamples are replayed as plain tests at the end.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.harness import Msg, Shop

CUSTOMERS = (("Анфиса", 7_100_001), ("Борислав", 7_100_002), ("Всеволод", 7_100_003))
OPERATORS = (("Ольга", 7_200_001), ("Павел", 7_200_002), ("Рита", 7_200_003))
PINS = ("1111", "2222")
CHAT_LIMIT = 2
FLOOD_MAX = 4
ALBUM_QUIET = 1.5
# Words that say a customer's message is held back (issue 10, behaviour 4 leaves the wording open).
HELD_WORDS = ("придерж", "задерж", "отлож", "не переслан", "в очереди на отправку", "пока не отправлен")

EXAMPLES = int(os.environ.get("SUPPORTBOT_MODEL_EXAMPLES", "100"))


@dataclass
class Said:
    """One customer message the model expects to reach an operator."""
    marker: str
    text: str
    customer: int
    epoch: int  # which of the customer's dialogs it belongs to
    exempt: bool  # banned at the time: never relayed, by design
    album: bool = False
    edit: bool = False
    relays: int = 0
    pending_since_tick: int | None = None  # the tick count when it first was due and not there


@dataclass
class OperatorWords:
    """One operator message: who may receive it."""
    marker: str
    operator: int
    allowed: set[int] = field(default_factory=set)


KINDS = ("text", "text", "text", "photo")
COMMANDS = ("/next", "/use {c}", "/done", "/done {c}", "/ban {c}", "/unban {c}", "/transfer {c} {seat}")
SECONDS = (1, 2, 30, 61, 400, 700)
# Every event: (weight, how to run it from the generic arguments who, pick, variant). One rule picks among them,
# so that hypothesis' swarm testing cannot switch single events off and everyday events come more often.
EVENTS = {
    "customer_writes": (5, lambda m, who, pick, v: m.customer_writes(who % 3, KINDS[v % len(KINDS)])),
    "customer_sends_album": (1, lambda m, who, pick, v: m.customer_sends_album(who % 3, 2 + v % 2)),
    "customer_edits": (1, lambda m, who, pick, v: m.customer_edits(who % 3, pick)),
    "customer_blocks_the_bot": (1, lambda m, who, pick, v: m.customer_blocks_the_bot(who % 3)),
    "sends_to_customer_fail_with_403": (1, lambda m, who, pick, v: m.sends_to_customer_fail_with_403(who % 3)),
    "customer_presses_a_button": (1, lambda m, who, pick, v: m.customer_presses_a_button(who % 3, pick)),
    "operator_logs_in": (2, lambda m, who, pick, v: m.operator_logs_in(who % 3, PINS[v % len(PINS)])),
    "operator_logs_out": (1, lambda m, who, pick, v: m.operator_logs_out(who % 3)),
    "operator_command": (3, lambda m, who, pick, v: m.operator_command(pick % 3, COMMANDS[v % len(COMMANDS)], who,
                                                                      1 + pick % 2)),
    "operator_says": (3, lambda m, who, pick, v: m.operator_says(who % 3)),
    "operator_replies": (2, lambda m, who, pick, v: m.operator_replies(who % 3, pick)),
    "operator_edits": (1, lambda m, who, pick, v: m.operator_edits(who % 3, pick)),
    "operator_presses_a_button": (2, lambda m, who, pick, v: m.operator_presses_a_button(who % 3, pick)),
    "time_passes": (2, lambda m, who, pick, v: m.time_passes(SECONDS[v % len(SECONDS)])),
    "restart": (1, lambda m, who, pick, v: m.restart()),
}
EVENT_LIST = tuple(name for name, (weight, _) in EVENTS.items() for _ in range(weight))


class ShopModel(RuleBasedStateMachine):
    """Random sequences of shop events; the invariants of issue 10 checked after every step."""

    checks: frozenset[str] = frozenset({"routing", "privacy", "relay", "seats", "edits", "restart", "crash"})

    def __init__(self):
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="shopmodel", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)
        self.shop = Shop(Path(self.dir), pins=PINS, operator_chat_limit=CHAT_LIMIT, flood_max_messages=FLOOD_MAX,
                         operator_idle_seconds=600.0)
        self.customers = [self.shop.customer(name, uid) for name, uid in CUSTOMERS]
        self.operators = [self.shop.operator(name, uid) for name, uid in OPERATORS]
        self.customer_ids = {c.id for c in self.customers}
        self.counter = 0
        self.said: dict[str, Said] = {}
        self.said_msgs: dict[int, list[tuple[Msg, str]]] = {c.id: [] for c in self.customers}
        self.words: dict[str, OperatorWords] = {}
        self.own_msgs: dict[int, list[tuple[Msg, str]]] = {o.id: [] for o in self.operators}
        self.baseline: dict[int, int | None] = {}  # operator -> customer current after their previous action
        self.epoch = {c.id: 0 for c in self.customers}
        self.blocked: set[int] = set()
        self.ticks = 0
        self.pressing = False  # an operator presses a button: a held message may go where they choose
        self.relay_order: dict[int, list[str]] = {c.id: [] for c in self.customers}
        self.view = self.shop.view()

    def teardown(self):
        self.shop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- helpers ---------------------------------------------------------------------------

    def _marker(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}Z"

    def _step(self, actor, action) -> list:
        """Run one event and check what it changed; return the new changes."""
        before = self.view
        start = len(self.shop.telegram.changes)
        with self.shop.sender_paused():  # what the operator's own action made current, before any send fails
            action()
            acted = self.shop.view()
        changes = self.shop.telegram.changes[start:]
        self.view = after = self.shop.view()
        self._track_epochs(before, after)
        self._check_changes(actor, before, after, changes)
        self._update_baselines(actor, acted, after)
        self._check_reaching()
        return changes

    def _track_epochs(self, before, after):
        for cid in self.customer_ids:
            if cid in before.dialogs and cid not in after.dialogs:
                self.epoch[cid] += 1

    def _update_baselines(self, actor, acted, after):
        for op in self.operators:
            if op.id not in after.operators:
                self.baseline.pop(op.id, None)
            elif op is actor:
                self.baseline[op.id] = acted.current.get(op.id)
            elif self.baseline.get(op.id) is None:
                # Nothing was current after their last action: a customer assigned meanwhile may become current.
                self.baseline[op.id] = after.current.get(op.id)

    def _customer_named(self, msg: Msg) -> int | None:
        """The one real customer a message in an operator's chat is about (a copy of theirs, or by name)."""
        if msg.copied_from and msg.copied_from[0] in self.customer_ids:
            return msg.copied_from[0]
        found = {uid for name, uid in CUSTOMERS if name in (msg.text or "")}
        return found.pop() if len(found) == 1 else None

    def _check_changes(self, actor, before, after, changes):
        actor_logged_in = actor is not None and actor.id in before.operators
        for change in changes:
            chat, msg, text = change.chat_id, change.message, change.message.text or ""
            if chat in self.customer_ids:
                if "privacy" in self.checks:
                    for name, uid in CUSTOMERS:
                        if uid != chat:
                            assert name not in text, f"customer {chat} was shown {name}'s name: {text!r}"
                            assert str(uid) not in text, f"customer {chat} was shown {name}'s id: {text!r}"
                    for marker in re.findall(r"Q\d+Z", text):
                        owner = self.said[marker].customer if marker in self.said else None
                        assert owner == chat, f"customer {chat} received another customer's words {marker}: {text!r}"
                if "routing" in self.checks:
                    for marker in re.findall(r"R\d+Z", text):
                        words = self.words[marker]
                        pressed = self.pressing and actor is not None and actor.id == words.operator
                        assert chat in words.allowed or pressed, (
                            f"an operator's words {marker} reached customer {chat}, allowed only {words.allowed}:"
                            f" {text!r}")
                if "edits" in self.checks and change.what in ("edited", "deleted"):
                    assert actor is not None and (actor.id == chat or actor_logged_in), (
                        f"customer {chat}'s chat changed ({change.what}) by {actor}, not logged in: {text!r}")
            elif "relay" in self.checks:
                self._count_relays(chat, msg, change.what)

    def _count_relays(self, chat, msg, what):
        if what not in ("sent", "edited"):
            return
        for line in msg.lines:
            for marker in re.findall(r"Q\d+Z", line):
                said = self.said.get(marker)
                if said is None or not re.fullmatch(r"\s*(?:[-—•*]|\d+[.)])?\s*" + re.escape(said.text) + r"\s*",
                                                    line):
                    continue  # a history or list line quoting it, not a relay
                said.relays += 1
                assert said.relays == 1, f"customer message {marker} relayed {said.relays} times"
                if said.edit:
                    continue
                order = self.relay_order[said.customer]
                later = [m for m in order if int(m[1:-1]) > int(marker[1:-1])]
                assert not later, f"customer message {marker} relayed after the later {later}"
                order.append(marker)

    def _told_held(self, said: Said, seat_operator: int) -> bool:
        name = next(n for n, uid in CUSTOMERS if uid == said.customer)
        mine = self.shop.telegram.bot_messages(seat_operator)
        return any(name in (m.text or "") and any(w in (m.text or "").lower() for w in HELD_WORDS) for m in mine)

    def _check_reaching(self):
        if "relay" not in self.checks:
            return
        online = {seat: uid for uid, seat in self.view.operators.items()}
        for said in self.said.values():
            if said.relays or said.exempt or said.edit or said.epoch != self.epoch[said.customer]:
                continue
            state, seat = self.view.dialogs.get(said.customer, (None, None))
            if state != "active" or seat not in online:
                said.pending_since_tick = None
                continue
            if said.album:
                if said.pending_since_tick is None:
                    said.pending_since_tick = self.ticks
                if self.ticks == said.pending_since_tick:
                    continue  # an album waits a moment for its last part
            assert self._told_held(said, online[seat]), (
                f"customer message {said.marker} ({said.text!r}) never reached operator of seat {seat},"
                " who was not told it is held")

    # --- invariants over the whole state ----------------------------------------------------------------

    @invariant()
    def seats_within_limits_and_no_one_waits_for_a_free_seat(self):
        if "seats" not in self.checks:
            return
        for seat, load in self.view.loads.items():
            assert load <= CHAT_LIMIT, f"seat {seat} holds {load} dialogs, over the limit {CHAT_LIMIT}"
        if self.view.queue:
            free = [seat for seat, load in self.view.loads.items() if load < CHAT_LIMIT]
            assert not free, f"customers {self.view.queue} wait while seats {free} have room"

    @invariant()
    def no_update_crashed(self):
        if "crash" in self.checks:
            assert not self.shop.failures, f"an update crashed: {self.shop.failures}"

    @initialize()
    def first_operator_on_line(self):
        self._step(self.operators[0], lambda: self.operators[0].logs_in(PINS[0]))

    @rule(event=st.sampled_from(EVENT_LIST), who=st.integers(0, 3), pick=st.integers(0, 200),
          variant=st.integers(0, 6))
    def happens(self, event, who, pick, variant):
        """One event of the shop; the weights in EVENTS make everyday ones more frequent."""
        EVENTS[event][1](self, who, pick, variant)

    # --- customers ---------------------------------------------------------------------------------

    def customer_writes(self, c, kind):
        person = self.customers[c]
        if person.id in self.blocked:
            self._step(person, person.unblocks)
            self.blocked.discard(person.id)
        marker = self._marker("Q")
        text = f"вопрос {marker}"
        self.said[marker] = Said(marker, text, person.id, self.epoch[person.id], person.id in self.view.banned)
        sent = []
        self._step(person, lambda: sent.append(person.sends(kind, text=text)))
        self.said_msgs[person.id].append((sent[0], marker))

    def customer_sends_album(self, c, n):
        person = self.customers[c]
        if person.id in self.blocked:
            self._step(person, person.unblocks)
            self.blocked.discard(person.id)
        markers = [self._marker("Q") for _ in range(n)]
        for marker in markers:
            self.said[marker] = Said(marker, f"фото {marker}", person.id, self.epoch[person.id],
                                     person.id in self.view.banned, album=True)
        self._step(person, lambda: person.sends_album(n, [f"фото {m}" for m in markers]))

    def customer_edits(self, c, i):
        person = self.customers[c]
        if not self.said_msgs[person.id] or person.id in self.blocked:
            return
        original, _ = self.said_msgs[person.id][i % len(self.said_msgs[person.id])]
        marker = self._marker("Q")
        text = f"правка {marker}"
        self.said[marker] = Said(marker, text, person.id, self.epoch[person.id], True, edit=True)
        self._step(person, lambda: person.edits(original, text))

    def customer_blocks_the_bot(self, c):
        person = self.customers[c]
        if person.id not in self.blocked:
            self.blocked.add(person.id)
            self._step(person, person.blocks)

    def sends_to_customer_fail_with_403(self, c):
        person = self.customers[c]
        if person.id not in self.blocked:
            self.blocked.add(person.id)  # the customer blocked the bot and Telegram did not tell us yet
            self._step(None, lambda: self.shop.delivery_fails_403(person))

    def customer_presses_a_button(self, c, i):
        person = self.customers[c]
        buttons = [b for m in person.chat() for b in m.buttons]
        if buttons and person.id not in self.blocked:
            self._step(person, lambda: person.presses(buttons[i % len(buttons)]))

    # --- operators -------------------------------------------------------------------------------

    def operator_logs_in(self, o, pin):
        op = self.operators[o]
        self._step(op, lambda: op.logs_in(pin))

    def operator_logs_out(self, o):
        op = self._online(o)
        if op is not None:
            self._step(op, op.logs_out)

    def _online(self, o: int):
        """The o-th operator logged in now (operators' words from logged-out accounts are a customer's)."""
        online = [op for op in self.operators if op.id in self.view.operators]
        return online[o % len(online)] if online else None

    def operator_command(self, o, command, c, seat):
        op = self._online(o)
        if op is None:
            return
        text = command.format(c=self.customers[c].id if c < 3 else 2**63, seat=seat)  # and an id SQLite cannot hold
        self._step(op, lambda: op.says(text))

    def _operator_writes(self, op, send, allowed: set[int]):
        marker = self._marker("R")
        self.words[marker] = OperatorWords(marker, op.id, allowed)
        logged_in = op.id in self.view.operators
        changes = self._step(op, lambda: send(f"ответ {marker}"))
        sent = next(m for m in reversed(list(self.shop.telegram.chats[op.id].values())) if not m.from_bot)
        self.own_msgs[op.id].append((sent, marker))
        reached = {c.chat_id for c in changes if c.chat_id != op.id and marker in (c.message.text or "")}
        if "routing" in self.checks and logged_in and not reached:
            told = [c for c in changes if c.chat_id == op.id and c.what == "sent"]
            assert told, f"operator's message {marker} went nowhere and the operator was not told"

    def operator_says(self, o):
        op = self._online(o)
        if op is None:
            return
        current = self.baseline.get(op.id)
        self._operator_writes(op, op.says, {current} if current else set())

    def operator_replies(self, o, i):
        op = self._online(o)
        if op is None:
            return
        received = [m for m in op.chat() if not m.deleted]
        own = self.own_msgs[op.id]
        targets = [(m, self._customer_named(m)) for m in received] + [
            (m, self._receiver_of(marker)) for m, marker in own]
        if not targets:
            return
        target, about = targets[i % len(targets)]
        allowed = {about} if about and op.id in self.view.operators else set()
        self._operator_writes(op, lambda text: op.replies_to(target, text), allowed)

    def _receiver_of(self, marker: str) -> int | None:
        found = {chat for chat in self.customer_ids
                 if any(marker in " ".join([m.text or ""] + m.edits) for m in self.shop.telegram.bot_messages(chat))}
        return found.pop() if len(found) == 1 else None

    def operator_edits(self, o, i):
        writers = [op for op in self.operators if self.own_msgs[op.id]]  # logged in now or not
        if not writers:
            return
        op = writers[o % len(writers)]
        own = self.own_msgs[op.id]
        original, old_marker = own[i % len(own)]
        receiver = self._receiver_of(old_marker)
        marker = self._marker("R")
        open_now = receiver is not None and self.view.dialogs.get(receiver, (None,))[0] is not None
        allowed = {receiver} if receiver and op.id in self.view.operators and open_now else set()
        self.words[marker] = OperatorWords(marker, op.id, allowed)
        self._step(op, lambda: op.edits(original, f"ответ {marker}"))

    def operator_presses_a_button(self, o, i):
        op = self.operators[o]
        buttons = [b for m in op.chat() for b in m.buttons]
        if not buttons:
            return
        self.pressing = True
        try:
            self._step(op, lambda: op.presses(buttons[i % len(buttons)]))
        finally:
            self.pressing = False

    # --- time and restarts ---------------------------------------------------------------------

    def time_passes(self, seconds):
        if seconds > ALBUM_QUIET:
            self.ticks += 1
        self._step(None, lambda: self.shop.tick(seconds))

    def restart(self):
        before = self.shop.snapshot()
        changes = self._step(None, self.shop.restart)
        if "restart" in self.checks:
            assert self.shop.snapshot() == before, "the restart changed the shop's state"
            assert not [c for c in changes if c.what == "sent"], "people received messages because of a restart"


def _settings():
    # Shrinking a failure of this model takes minutes: only when asked (or in the long run).
    shrink = os.environ.get("SUPPORTBOT_MODEL_SHRINK") == "1" or EXAMPLES > 100
    phases = [p for p in Phase if p is not Phase.explain and (shrink or p is not Phase.shrink)]
    return settings(max_examples=EXAMPLES, stateful_step_count=30, deadline=None, derandomize=EXAMPLES <= 100,
                    database=None, phases=phases,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def machine(name: str, checks: set[str]):
    """A copy of the model checking only `checks` (so each family of invariants fails on its own)."""
    cls = type(name, (ShopModel,), {"checks": frozenset(checks)})
    cls.TestCase.settings = _settings()
    return cls


# The default run: every invariant at once (each example checks all of them; a few seconds).
TestShopModel = machine("ShopModel", ShopModel.checks).TestCase


def one_rule_per_event(machine_class):
    """The same model with one rule per event instead of one weighted rule: hypothesis shrinks these far better
    (it deletes whole steps), though swarm testing then leaves some events out of many examples."""
    attrs = {"happens": lambda self, event, who, pick, variant: None}  # not a rule here

    def event_rule(name, run):
        def method(self, who, pick, variant):
            run(self, who, pick, variant)
        method.__name__ = method.__qualname__ = name
        return rule(who=st.integers(0, 3), pick=st.integers(0, 200), variant=st.integers(0, 6))(method)

    for name, (_weight, run) in EVENTS.items():
        attrs[f"{name}_"] = event_rule(f"{name}_", run)
    return type(machine_class.__name__, (machine_class,), attrs)


@pytest.mark.slow
@pytest.mark.parametrize("checks", [{"routing"}, {"privacy"}, {"relay"}, {"seats"}, {"edits"}, {"restart"},
                                    {"crash"}], ids=lambda c: next(iter(c)))
def test_the_model_long(checks):
    """One family of invariants at a time, 1000 examples each, shrinking what fails (minutes each)."""
    cls = one_rule_per_event(type("Long", (ShopModel,), {"checks": frozenset(checks)}))
    run_state_machine_as_test(cls, settings=settings(_settings(), max_examples=1000, derandomize=False,
                                                     phases=[p for p in Phase if p is not Phase.explain]))


# --- the counterexamples hypothesis found, replayed step by step ---------------------------------------------
# Found on the code before issue 10 (SUPPORTBOT_MODEL_EXAMPLES=300 SUPPORTBOT_MODEL_SHRINK=1, one family of
# checks at a time), as hypothesis printed them after shrinking (then one rule per event; now the one rule
# `happens(event=…)` calls the same methods); every run starts with first_operator_on_line()
# (Ольга on seat 1; seats hold 2 dialogs; the flood limit is 4 a minute):
#   routing: customer_sends_album(c=0, n=2); customer_blocks_the_bot(c=0); customer_sends_album(c=1, n=2);
#            operator_says(o=0)  -> Ольга's words for Анфиса reach Борислав (made current by his arrival)
#   relay:   customer_sends_album(c=0, n=2); customer_sends_album(c=0, n=2); customer_writes(c=0, kind='text')
#            -> the 5th message in a minute is stored, never relayed, the operator never told
#   seats:   customer_writes(c=0) x4; customer_blocks_the_bot(c=0); customer_writes(c=0)  (shrunk by hand from
#            hypothesis' 10 steps) -> the flooded message opens a dialog that waits in the queue beside a free
#            seat until the next tick
#   edits:   customer_sends_album(c=0, n=2); operator_says(o=0); operator_logs_out(o=0); operator_edits(o=0, i=0)
#            -> the logged-out account changes the customer's copy
#   crash:   operator_command(o=0, command='/use {c}', c=3)  (c=3 is 2**63) -> OverflowError, dead letter
#   routing, with blocks switched off: customer_sends_album(c=0, n=2); operator_says(o=0);
#            operator_logs_in(o=1, pin='1111'); operator_edits(o=0, i=0)
#            -> Павел takes seat 1 over; Ольга's edit still changes Анфиса's copy
#   privacy, restart: nothing found in 60 derandomized examples of 30 steps.

def replay(checks: set[str], steps: list[tuple[str, dict]]) -> None:
    """Run a found step sequence on a fresh model, checking its invariants after every step."""
    model = type("Replay", (ShopModel,), {"checks": frozenset(checks)})()
    try:
        for name, kwargs in [("first_operator_on_line", {})] + steps:
            getattr(model, name)(**kwargs)
            model.seats_within_limits_and_no_one_waits_for_a_free_seat()
            model.no_update_crashed()
    finally:
        model.teardown()


def test_found_a_block_then_a_new_customer_takes_the_operators_next_words():
    replay({"routing"}, [("customer_sends_album", {"c": 0, "n": 2}), ("customer_blocks_the_bot", {"c": 0}),
                         ("customer_sends_album", {"c": 1, "n": 2}), ("operator_says", {"o": 0})])


def test_found_the_fifth_message_in_a_minute_never_reaches_the_operator():
    replay({"relay"}, [("customer_sends_album", {"c": 0, "n": 2}), ("customer_sends_album", {"c": 0, "n": 2}),
                       ("customer_writes", {"c": 0, "kind": "text"})])


def test_found_a_flooding_customers_new_dialog_waits_beside_a_free_seat():
    replay({"seats"}, [("customer_writes", {"c": 0, "kind": "text"})] * 4 + [
        ("customer_blocks_the_bot", {"c": 0}), ("customer_writes", {"c": 0, "kind": "text"})])


def test_found_use_with_a_huge_id_crashes():
    replay({"crash"}, [("operator_command", {"o": 0, "command": "/use {c}", "c": 3, "seat": 1})])


def test_found_a_logged_out_operator_edits_the_customers_copy():
    replay({"edits"}, [("customer_sends_album", {"c": 0, "n": 2}), ("operator_says", {"o": 0}),
                       ("operator_logs_out", {"o": 0}), ("operator_edits", {"o": 0, "i": 0})])


def test_found_an_operator_taken_over_edits_the_customers_copy():
    replay({"routing"}, [("customer_sends_album", {"c": 0, "n": 2}), ("operator_says", {"o": 0}),
                         ("operator_logs_in", {"o": 1, "pin": "1111"}), ("operator_edits", {"o": 0, "i": 0})])


# Written by hand, not found: the other two misroutes, which random search did not reach in 400 examples
# with blocks switched off (they need a second operator, or a 403, at the right moment). The model sees both.

def test_a_colleagues_ban_then_the_operators_words_reach_the_other_dialog():
    replay({"routing"}, [("customer_writes", {"c": 0, "kind": "text"}), ("customer_writes", {"c": 1, "kind": "text"}),
                         ("operator_logs_in", {"o": 1, "pin": "2222"}),
                         ("operator_command", {"o": 1, "command": "/ban {c}", "c": 0, "seat": 1}),
                         ("operator_says", {"o": 0})])


def test_a_403_then_the_operators_next_words_reach_the_other_dialog():
    replay({"routing"}, [("customer_writes", {"c": 0, "kind": "text"}), ("customer_writes", {"c": 1, "kind": "text"}),
                         ("sends_to_customer_fail_with_403", {"c": 0}), ("operator_says", {"o": 0}),
                         ("operator_says", {"o": 0})])


def test_found_a_seat_taken_over_while_messages_are_held():
    # Found after the flood fix: the new account on the seat was never told the customer's messages were held.
    replay({"relay"}, [("customer_writes", {"c": 0, "kind": "text"})] * 5 + [
        ("operator_logs_in", {"o": 1, "pin": "1111"})])
