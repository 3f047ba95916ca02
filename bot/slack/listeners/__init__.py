"""Bolt listeners, split by kind; each module has one ``register(app, deps)``. This file
only exports ``SlackDeps``."""

from bot.slack.listeners.deps import SlackDeps

__all__ = ["SlackDeps"]
