"""Slack adapter: Bolt app, Web API delivery and Block Kit rendering of engine messages."""
