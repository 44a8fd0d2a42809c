"""Lotse assistant: retrieval, answers with citations, web, Slack and the CLI."""
