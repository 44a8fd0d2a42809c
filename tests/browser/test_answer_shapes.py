"""What people see in the widget for the questions that used to go wrong (issues 12 and 13).

Each answer comes first and cited; lists come whole, as lists; a new question right after
another topic is not read as a follow-up. With LOTSE_SCREENSHOTS=<folder> the answers are
also saved as screenshots (docs/ holds the ones named in the issue notes).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from widget_page import ask as ask_widget

pytestmark = pytest.mark.browser


def ask(page: Page, question: str) -> Locator:
    bubble = ask_widget(page, question)
    expect(bubble).not_to_have_attribute("data-error", "true")
    return bubble


def open_chat(context, lotse_server: str) -> Page:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.goto(lotse_server + "/")
    page.get_by_test_id("lotse-launcher").click()
    return page


def keep(page: Page, bubble: Locator, name: str) -> None:
    folder = os.environ.get("LOTSE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        bubble.scroll_into_view_if_needed()
        page.screenshot(path=str(Path(folder) / f"{name}.png"), animations="disabled")


def first_paragraph(bubble: Locator) -> str:
    return bubble.locator(".body > p").first.inner_text()


def items(bubble: Locator) -> list[str]:
    return bubble.locator(".body li").all_inner_texts()


def test_funding_rate_comes_first_with_its_programme(lotse_server: str, context) -> None:  # type: ignore[no-untyped-def]
    page = open_chat(context, lotse_server)
    bubble = ask(page, "Welche Förderquote gilt für Modellprojekte Smart Cities?")
    first = first_paragraph(bubble)
    assert "65 %" in first and "90 %" in first and "Smart Cities" in first, first
    assert "http" not in bubble.locator(".body").inner_text()
    keep(page, bubble, "antwort-foerderquote-mpsc")


@pytest.mark.parametrize(
    "question, expected, name",
    [
        ("Was muss in eine Datenschutz-Folgenabschätzung?", ["Risiken", "Maßnahmen"], "antwort-dsfa-schritte"),
        ("Welche Rollen braucht Data Governance?", ["Strategische Gesamtverantwortung", "Plattformbetrieb"],
         "antwort-data-governance-rollen"),
        # "3.3 Schritt 2 …" and "3.6 Schritt 5 …" bring the overview that opens their section
        ("Gemeinde mit 8.000 Einwohnern – wie anfangen?", ["Bestandsaufnahme", "Pilot"], "antwort-wie-anfangen"),
    ],
)
def test_list_answers_come_whole_as_lists(lotse_server: str, context, question: str, expected: list[str], name: str) -> None:  # type: ignore[no-untyped-def]
    page = open_chat(context, lotse_server)
    bubble = ask(page, question)
    listed = items(bubble)
    assert len(listed) >= 4, listed
    for word in expected:
        assert any(word in item for item in listed), (word, listed)
    keep(page, bubble, name)


def test_a_new_question_after_another_topic_is_not_merged(lotse_server: str, context) -> None:  # type: ignore[no-untyped-def]
    page = open_chat(context, lotse_server)
    ask(page, "Muss ich bei Sensordaten im Straßenraum eine DSFA machen?")
    bubble = ask(page, "Wer ist Ansprechpartner für 3D-Stadtmodelle?")
    text = bubble.locator(".body").inner_text()
    sources = " ".join(bubble.get_by_test_id("lotse-citation").all_inner_texts())
    assert "Vermessung" in text or "Geobasis" in text, text
    assert "Verzeichnis" in sources and "Datenschutz-Folgenabschätzung" not in text, (sources, text)
    keep(page, bubble, "antwort-themenwechsel-ansprechpartner")
