"""The Slack bot: mentions, DMs, thread follow-ups, /lotse, feedback; HTTP events and Socket Mode."""
