"""Driving the chat widget in a Playwright page (shared by the browser tests)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

ANSWER_TIMEOUT = 90_000  # ms: the first answer of a fresh server includes warming the embedder


def ask(page: Page, question: str) -> Locator:
    """Types the question, sends it with Enter and returns the new, finished answer bubble."""
    before = page.get_by_test_id("lotse-answer").count()
    box = page.get_by_test_id("lotse-input")
    box.fill(question)
    box.press("Enter")
    bubble = page.get_by_test_id("lotse-answer").nth(before)
    expect(bubble).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT)
    return bubble
