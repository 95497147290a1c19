"""supportbot: a Telegram support bot that connects a small shop's customers with its operators."""

__version__ = "0.1.0"
