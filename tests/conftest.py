"""Shared fixtures: a fake Telegram, a bot process, people."""
from __future__ import annotations

import pytest

from tests.botproc import BotProcess
from tests.fakegram import FakeTelegram
from tests.harness import Shop


@pytest.fixture
def api():
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def make_bot(tmp_path, api):
    """Build bot processes in tmp_path; all are stopped at the end."""
    bots: list[BotProcess] = []

    def factory(**settings) -> BotProcess:
        bot = BotProcess(tmp_path, api, **settings)
        bots.append(bot)
        return bot

    yield factory
    for bot in bots:
        bot.kill()


@pytest.fixture
def bot(make_bot):
    """A running bot with two seats (PINs 1111 and 2222) and a chat limit of 2."""
    return make_bot(OPERATOR_CHAT_LIMIT="2").start()


@pytest.fixture
def make_shop(tmp_path):
    """Build in-process shops (tests/harness.py) on a database in tmp_path: make_shop(operator_chat_limit=2)."""
    shops: list[Shop] = []

    def factory(**config) -> Shop:
        shop = Shop(tmp_path / f"shop{len(shops)}", **config)
        shops.append(shop)
        return shop

    yield factory
    for shop in shops:
        shop.close()


@pytest.fixture
def shop(make_shop):
    """An in-process shop like the `bot` fixture: two seats (PINs 1111 and 2222), two dialogs each."""
    return make_shop(pins=("1111", "2222"), operator_chat_limit=2)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long runs (the model-based tests with many examples); run with -m slow")


def pytest_collection_modifyitems(config, items):
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="a long run (1000 examples a family, minutes each): the same invariants run in every suite as tests/test_model.py::TestShopModel; select these with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    """Drop the session's PostgreSQL database, if one was made (tests/databases.py)."""
    from tests import databases

    databases.end_session()
