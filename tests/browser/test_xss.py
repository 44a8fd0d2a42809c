"""Hostile markup from every source the widget and the source view show, in a real Chromium.

A corpus document (title, heading, text, a `javascript:` link and source URL), the question and
the language model's answer all carry `<script>`, `<img onerror>` and `javascript:` payloads.
They must come out as visible text: no dialog opens, no element is injected, no link runs script.
The model's answer quotes the hostile passage, so the citation check keeps it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import never_refuse
from mock_openai import MockOpenAI
from playwright.sync_api import Page, expect

from assistant.answer import AnswerEngine
from assistant.service import Service
from assistant.settings import Settings
from assistant.web.app import create_app

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
JS_LINK = "[Klick](javascript:alert(1))"
HOSTILE_DOC = f"""---
title: Sicherheit {SCRIPT}
source_url: "javascript:alert(1)"
---
# Sicherheit {SCRIPT}

## 1 Eingaben {IMG} prüfen

Der Prüftext {SCRIPT} wird im Widget nie ausgeführt. Das Bild {IMG} bleibt reiner Text. Der Link {JS_LINK} öffnet nichts.
Auch <javascript:alert(1)> ist kein Link.
"""
SENTENCES = [f"Der Prüftext {SCRIPT} wird im Widget nie ausgeführt.", f"Das Bild {IMG} bleibt reiner Text.",
             f"Der Link {JS_LINK} öffnet nichts."]
LLM_ANSWER = " ".join(f"{s} [1]" for s in SENTENCES)
QUESTION = f"Was passiert mit {SCRIPT} und {IMG} im Prüftext, und mit javascript:alert(1)?"

# Every element in the widget's shadow root (or the page) that hostile text could have become:
# anything scriptable, and links that are not http(s). The page's own widget.js is allowed.
INJECTED = """(rootSelector) => {
  const scope = rootSelector ? document.querySelector(rootSelector).shadowRoot : document;
  return Array.from(scope.querySelectorAll('script, img, iframe, object, embed, svg script, [onerror], [onload], [onclick], a[href]'))
    .filter(e => !(e.tagName === 'A' && /^https?:$/.test(e.protocol)))
    .filter(e => !(e.tagName === 'SCRIPT' && /[/]widget[.]js$/.test(e.src) && !e.textContent))
    .map(e => e.outerHTML.slice(0, 120));
}"""


@pytest.fixture
def hostile_site(corpus: Path, request: pytest.FixtureRequest, mock_openai: MockOpenAI, serve_app) -> str:  # type: ignore[no-untyped-def]
    (corpus / "leitfaeden" / "sicherheit.md").write_text(HOSTILE_DOC, encoding="utf-8")
    settings: Settings = request.getfixturevalue("settings")
    fake_index = request.getfixturevalue("fake_index")  # ingests the corpus with the hostile document
    never_refuse(settings)  # about rendering, not refusal
    settings.generator.backend = "openai"
    settings.generator.openai.base_url = mock_openai.base_url
    settings.generator.openai.model = "test-model"
    mock_openai.queue(LLM_ANSWER, LLM_ANSWER)

    def build(base: str) -> Any:
        settings.answer.public_url = base
        settings.db.url = f"sqlite:///{settings.paths.data_dir}/xss.db"
        return create_app(settings, Service(settings, engine=AnswerEngine(settings, fake_index)))

    return str(serve_app(build))


def watch_dialogs(page: Page) -> list[str]:
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


def test_hostile_question_answer_and_citation_are_text_in_the_widget(hostile_site: str, context, mock_openai: MockOpenAI) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    dialogs = watch_dialogs(page)
    page.goto(hostile_site + "/")
    page.get_by_test_id("lotse-launcher").click()
    box = page.get_by_test_id("lotse-input")
    box.fill(QUESTION)
    box.press("Enter")
    answer = page.get_by_test_id("lotse-answer").first
    expect(answer).to_have_attribute("data-state", "done", timeout=60_000)
    expect(answer).not_to_have_attribute("data-error", "true")
    assert mock_openai.requests, "the answer came from the (mock) language model"
    assert SCRIPT in mock_openai.requests[0]["messages"][-1]["content"], "the hostile passage and question reached the model"

    def check() -> None:
        # the question, the answer and the citation label show the payloads literally
        expect(page.locator("lotse-widget .msg.user").first).to_contain_text(QUESTION)
        body = answer.locator(".body")
        for sentence in SENTENCES:
            expect(body).to_contain_text(sentence)
        expect(answer.get_by_test_id("lotse-marker").first).to_be_visible()  # rendered as an answer, not as raw text
        citation = answer.get_by_test_id("lotse-citation").first
        expect(citation).to_contain_text(f"Sicherheit {SCRIPT} › 1 Eingaben {IMG} prüfen")
        assert (citation.get_attribute("href") or "").startswith(hostile_site + "/sources/sicherheit#")
        assert page.evaluate(INJECTED, "lotse-widget") == [], "markup injected into the widget"
        assert page.evaluate(INJECTED, None) == [], "markup injected into the host page"
        assert dialogs == [], dialogs

    check()
    # the conversation is restored from sessionStorage after navigating: rendered the same safe way
    page.reload()
    page.get_by_test_id("lotse-launcher").click()
    answer = page.get_by_test_id("lotse-answer").first
    expect(answer).to_have_attribute("data-state", "done")
    check()


def test_hostile_document_is_text_in_the_source_view(hostile_site: str, context) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    dialogs = watch_dialogs(page)
    response = page.goto(hostile_site + "/sources/sicherheit")
    assert response is not None and response.status == 200
    expect(page).to_have_title(f"Sicherheit {SCRIPT} – Lotse")
    expect(page.locator("h1")).to_have_text(f"Sicherheit {SCRIPT}")
    section = page.locator("section").first
    expect(section.locator("h3")).to_have_text(f"1 Eingaben {IMG} prüfen")
    for sentence in SENTENCES:
        expect(section).to_contain_text(sentence)
    expect(section).to_contain_text("<javascript:alert(1)>")
    # the javascript: source URL of the front matter is not linked ("Veröffentlichung")
    expect(page.locator("a", has_text="Veröffentlichung")).to_have_count(0)
    injected = page.evaluate(INJECTED, None)
    assert injected == [], injected
    assert page.locator("script").count() == 0
    assert dialogs == [], dialogs
