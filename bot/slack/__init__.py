"""The Slack app (Bolt for Python, async): listeners, the reader's language, wiring."""
