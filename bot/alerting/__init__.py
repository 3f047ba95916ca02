"""Alerts: a pure policy decides, the scheduler's transaction records the decision in the
outbox, a sender delivers the outbox to Slack (alerting.md decisions 3 and 6)."""
