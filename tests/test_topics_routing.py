"""Topics mode in-process (tests/harness.py): where an operator's words go, whatever the order of events.

A message written in a customer's topic reaches that customer and nobody else; one written in General
reaches nobody; commands in a topic act on its customer. The model-based test runs random interleavings
of two operators and four customers and checks that rule after every step.
"""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from supportbot import texts
from tests.harness import Shop


def _olga_serving(make_shop, *names):
    """A shop in topics mode with Ольга at line 1 serving customers who each asked «вопрос»."""
    shop = make_shop(topics=True, csat_enabled=False, operator_chat_limit=2)
    olga = shop.operator("Ольга")
    olga.logs_in("1111")
    customers = [shop.customer(name) for name in names]
    for customer in customers:
        customer.says("вопрос")
        customer.receives()
    return shop, olga, customers


def test_each_dialog_gets_a_topic_and_its_messages_go_there(make_shop):
    shop = make_shop(topics=True, csat_enabled=False, operator_chat_limit=2)
    olga = shop.operator("Ольга")
    olga.logs_in("1111")
    anna, boris = shop.customer("Анна", username="anna"), shop.customer("Борис")
    anna.says("где заказ?")
    boris.says("хочу вернуть")
    anna_topic, boris_topic = olga.topic(anna), olga.topic(boris)
    assert olga.topics() == {anna_topic: {"name": "#1 Анна @anna", "closed": False},
                             boris_topic: {"name": "#2 Борис", "closed": False}}
    assert any("где заказ?" in m for m in olga.in_topic(anna_topic))
    assert not any("хочу вернуть" in m for m in olga.in_topic(anna_topic))
    anna.says("ещё вопрос")
    assert "ещё вопрос" in olga.in_topic(anna_topic)[-1]


def test_an_answer_goes_to_the_topics_customer_whoever_is_current(make_shop):
    _shop, olga, (anna, boris) = _olga_serving(make_shop, "Анна", "Борис")
    olga.says("Борису", topic=olga.topic(boris))
    olga.says("Анне", topic=olga.topic(anna))
    assert [m.text for m in anna.receives()] == ["Анне"]
    assert [m.text for m in boris.receives()] == ["Борису"]


def test_general_sends_nothing_and_offers_the_open_dialogs_a_reply_still_works(make_shop):
    _shop, olga, (anna,) = _olga_serving(make_shop, "Анна")
    olga.says("кому это?")
    assert anna.receives() == []
    held = olga.in_topic(None)[-1]
    assert held.text.startswith(texts.HELD_GENERAL) and held.buttons
    relayed = next(m for m in olga.in_topic(olga.topic(anna)) if "вопрос" in m)
    olga.replies_to(relayed, "по цитате")  # a reply reaches the customer from anywhere
    assert [m.text for m in anna.receives()] == ["по цитате"]


def test_commands_in_a_topic_act_on_its_customer_and_a_closed_topic_refuses(make_shop):
    shop, olga, (anna, boris) = _olga_serving(make_shop, "Анна", "Борис")
    anna_topic, boris_topic = olga.topic(anna), olga.topic(boris)
    olga.says("/note любит звонки", topic=boris_topic)
    assert ("note", "любит звонки") in shop.history_of(boris) and all(d != "note" for d, _ in shop.history_of(anna))
    olga.says("/done", topic=anna_topic)
    assert shop.view().dialogs.get(anna.id) is None and boris.id in shop.view().dialogs
    assert olga.topics()[anna_topic] == {"name": texts.TOPIC_DONE + "#1 Анна", "closed": True}
    anna.receives()
    olga.says("вдогонку", topic=anna_topic)  # the topic's dialog is over: nothing goes
    assert anna.receives() == [] and texts.TOPIC_CLOSED in olga.texts()
    olga.says("/ban", topic=boris_topic)
    assert shop.view().banned == {boris.id}


def test_a_transfer_opens_a_topic_at_the_receiver_and_the_old_one_says_where(make_shop):
    shop, olga, (anna,) = _olga_serving(make_shop, "Анна")
    pavel = shop.operator("Павел")
    pavel.logs_in("2222")
    old = olga.topic(anna)
    olga.says("/transfer 2", topic=old)
    new = pavel.topic(anna)
    assert new is not None and olga.topics()[old]["closed"] and olga.topics()[old]["name"].startswith("↪")
    assert any("передан оператору Павел" in m for m in olga.in_topic(old))
    assert any("вопрос" in m for m in pavel.in_topic(new))  # the recent history came along
    anna.receives()
    pavel.says("я Павел", topic=new)
    olga.says("я Ольга", topic=old)
    assert [m.text for m in anna.receives()] == ["я Павел"]


def test_a_restart_keeps_the_topics(make_shop):
    shop, olga, (anna,) = _olga_serving(make_shop, "Анна")
    topic = olga.topic(anna)
    shop.restart()
    anna.says("после перезапуска")
    assert "после перезапуска" in olga.in_topic(topic)[-1] and list(olga.topics()) == [topic]
    olga.says("ответ", topic=topic)
    assert [m.text for m in anna.receives()] == ["ответ"]


class TopicRouting(RuleBasedStateMachine):
    """Two operators, four customers, any order: words written in a topic reach only its customer."""

    def __init__(self):
        super().__init__()
        self.shop = Shop(TopicRouting.tmp_path / f"m{next(TopicRouting.runs)}", topics=True,
                         operator_chat_limit=2, csat_enabled=False)
        self.operators = [self.shop.operator("Ольга"), self.shop.operator("Павел")]
        self.customers = [self.shop.customer(name) for name in ("Анна", "Борис", "Вера", "Глеб")]
        self.pins = {self.operators[0].id: "1111", self.operators[1].id: "2222"}
        for operator in self.operators:
            operator.logs_in(self.pins[operator.id])
        self.words = itertools.count()
        self.expected: dict[int, list[str]] = {c.id: [] for c in self.customers}

    def teardown(self):
        self.shop.close()

    def _received(self, customer) -> list[str]:
        return [m.text for m in customer.chat() if m.text and m.text.startswith("w")]

    @rule(who=st.integers(0, 3))
    def customer_writes(self, who):
        self.customers[who].says(f"вопрос {next(self.words)}")

    @rule(operator=st.integers(0, 1), who=st.integers(0, 3))
    def operator_writes_in_a_topic(self, operator, who):
        op, customer = self.operators[operator], self.customers[who]
        thread = op.topic(customer)
        if thread is None or thread not in op.topics():
            return
        state = self.shop.view().dialogs.get(customer.id)
        seat = 1 + operator
        open_here = state == ("active", seat) and not op.topics()[thread]["closed"]
        word = f"w{next(self.words)}"
        op.says(word, topic=thread)
        if open_here:
            self.expected[customer.id].append(word)

    @rule(operator=st.integers(0, 1))
    def operator_writes_in_general(self, operator):
        self.operators[operator].says(f"w{next(self.words)}")  # nobody's

    @rule(operator=st.integers(0, 1), who=st.integers(0, 3), command=st.sampled_from(["/done", "/transfer 1",
                                                                                         "/transfer 2"]))
    def operator_commands_in_a_topic(self, operator, who, command):
        op, customer = self.operators[operator], self.customers[who]
        thread = op.topic(customer)
        if thread is not None and thread in op.topics():
            op.says(command, topic=thread)

    @rule()
    def restart(self):
        self.shop.restart()

    @invariant()
    def words_reach_only_the_topics_customer(self):
        for customer in self.customers:
            assert self._received(customer) == self.expected[customer.id]

    @invariant()
    def every_open_dialog_has_its_topic_at_its_operator(self):
        view = self.shop.view()
        for customer in self.customers:
            state = view.dialogs.get(customer.id)
            if state is not None and state[0] == "active":
                op = self.operators[state[1] - 1]
                thread = op.topic(customer)
                assert thread in op.topics() and not op.topics()[thread]["closed"]


def test_words_written_in_a_topic_reach_only_its_customer_in_any_order(tmp_path):
    TopicRouting.tmp_path, TopicRouting.runs = tmp_path, itertools.count()
    run = TopicRouting.TestCase
    run.settings = settings(max_examples=20, stateful_step_count=25, deadline=None, database=None,
                            suppress_health_check=list(HealthCheck))
    run().runTest()
