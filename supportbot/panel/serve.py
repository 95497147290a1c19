"""Serving the panel with waitress: in a thread of the bot's process, or alone (`python -m supportbot panel`)."""
from __future__ import annotations

import logging
import threading

from .. import ops
from ..config import Config
from ..logs import setup_logging

log = logging.getLogger(__name__)


def panel_warning(config: Config) -> str | None:
    """The owner's line when the panel listens beyond this PC, else None."""
    if config.panel_host in ("127.0.0.1", "localhost", "::1"):
        return None
    return (f"Веб-панель открыта для сети: {config.panel_host}:{config.panel_port} (PANEL_HOST). Её видят другие"
            " компьютеры сети; если это не нужно, впишите PANEL_HOST=127.0.0.1 в .env.")


def panel_server(config: Config, wake=None):
    """Build the panel's waitress server on PANEL_HOST:PANEL_PORT (it does not run yet)."""
    from waitress.server import create_server

    from . import create_app

    return create_server(create_app(config, wake=wake), host=config.panel_host, port=config.panel_port,
                         threads=4, ident="supportbot")


def _opened(config: Config, wake, refused: str):
    """The panel's server, warned about when it listens beyond this PC; None (logged) when its port is taken."""
    warning = panel_warning(config)
    if warning:
        log.warning(warning)
    try:
        server = panel_server(config, wake)
    except OSError as exc:
        log.error("Веб-панель не запущена: адрес %s:%s занят или недоступен (%s).%s", config.panel_host,
                  config.panel_port, ops.describe_error(exc), refused)
        return None
    log.info("Веб-панель: http://%s:%s", config.panel_host, config.panel_port)
    return server


def start_panel(config: Config, wake) -> object | None:
    """Serve the panel in a thread of the bot's process; None when it is off or its port is taken."""
    if not config.panel_enabled:
        return None
    server = _opened(config, wake, " Бот работает без панели; укажите другой PANEL_PORT в .env.")
    if server is not None:
        threading.Thread(target=server.run, name="panel", daemon=True).start()
    return server


def run_panel(config: Config) -> int:
    """`python -m supportbot panel`: serve the panel alone (the bot runs elsewhere on the same database)."""
    setup_logging(config)
    server = _opened(config, None, "")
    if server is None:
        return 1
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0
