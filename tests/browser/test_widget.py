"""The chat widget in a real browser (headless Debian Chromium) against a real `lotse serve`.

Covers the demo page, streaming answers with citations, the source view, feedback,
follow-ups in the same conversation, English UI on a third-party page (CORS), errors,
the mobile layout, keyboard use and isolation from host page CSS.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest
from fakes import ScriptedGenerator, never_refuse
from playwright.sync_api import Page, expect
from widget_page import ask

from assistant.answer import AnswerEngine
from assistant.service import Service
from assistant.settings import Settings
from assistant.web.app import create_app

pytestmark = pytest.mark.browser

QUESTION_DE = "Wie oft wird das bundesweite LoD2-Gebäudemodell aktualisiert?"
FOLLOW_UP_EN = "And what does it cost to obtain the data for all of Germany?"
QUESTION_EN = "How often is the nationwide LoD2 building model updated?"

# Records every state the newest answer bubble goes through (state, visible text, send disabled).
OBSERVE = """() => {
  const root = document.querySelector('lotse-widget').shadowRoot;
  window.__lotseSeen = [];
  new MutationObserver(() => {
    const all = root.querySelectorAll('[data-testid=lotse-answer]');
    const b = all[all.length - 1];
    if (!b) return;
    const body = b.querySelector('.body');
    window.__lotseSeen.push({
      state: b.getAttribute('data-state'),
      text: body && !body.querySelector('.typing') ? body.textContent : '',
      sendDisabled: root.querySelector('[data-testid=lotse-send]').disabled,
    });
  }).observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def shot(page: Page, path: Path, name: str) -> Path:
    target = path / f"{name}.png"
    page.screenshot(path=str(target), animations="disabled")
    print(f"screenshot: {target}")
    return target


def open_widget(page: Page) -> None:
    page.get_by_test_id("lotse-launcher").click()
    expect(page.get_by_test_id("lotse-panel")).to_be_visible()
    expect(page.get_by_test_id("lotse-input")).to_be_focused()


def test_demo_page_answer_citation_source_feedback_and_follow_up(lotse_server: str, context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(lotse_server + "/")
    expect(page).to_have_title("Lotse – Fragen zu kommunalen Digitalen Zwillingen")
    expect(page.locator("pre code")).to_contain_text('<script src="https://lotse.example.de/widget.js"')
    launcher = page.get_by_test_id("lotse-launcher")
    expect(launcher).to_have_attribute("aria-label", "Lotse öffnen")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_test_id("lotse-panel")).to_be_hidden()

    open_widget(page)
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_test_id("lotse-panel")).to_contain_text("Hallo! Ich beantworte Fragen")
    expect(page.get_by_label("Ihre Frage")).to_have_attribute("maxlength", "1000")
    page.evaluate(OBSERVE)

    with page.expect_request(lambda r: r.url.endswith("/api/chat/stream")) as first_request:
        answer = ask(page, QUESTION_DE)
    assert first_request.value.post_data_json == {"question": QUESTION_DE, "conversation_id": None, "lang": "de"}
    expect(answer).not_to_have_attribute("data-error", "true")
    expect(answer).to_contain_text("jährlich")
    expect(answer).to_contain_text("Quellen")
    expect(page.get_by_test_id("lotse-send")).to_be_enabled()

    seen = page.evaluate("window.__lotseSeen")
    streaming = [s for s in seen if s["state"] == "streaming"]
    assert streaming, "the bubble was never in the streaming state"
    assert all(s["sendDisabled"] for s in streaming), "send must be disabled while an answer streams"
    # that streamed text shows before the answer completes: test_streamed_text_shows_before_the_answer_is_complete

    # inline markers [n] and the numbered source list
    markers = answer.get_by_test_id("lotse-marker")
    expect(markers.first).to_be_visible()
    citations = answer.get_by_test_id("lotse-citation")
    expect(citations.first).to_be_visible()
    assert citations.count() >= 1
    first = citations.first
    assert first.get_attribute("target") == "_blank" and "noopener" in (first.get_attribute("rel") or "")
    label = first.inner_text()
    assert label.lstrip().startswith("1") and "›" in label, label
    conversation = page.evaluate("sessionStorage.getItem('lotse.conversation')")
    assert conversation, "the conversation id is kept in sessionStorage"
    answer.scroll_into_view_if_needed()
    shutil.copy(shot(page, tmp_path, "widget-answer"), "/tmp/lotse-widget-answer.png")
    print("screenshot: /tmp/lotse-widget-answer.png")

    # the citation opens the source view at the cited section
    with context.expect_page() as new_page:
        first.click()
    source = new_page.value
    source.wait_for_load_state()
    assert "/sources/" in source.url and "#" in source.url, source.url
    anchor = unquote(source.url.split("#", 1)[1])
    section = source.locator(f'[id="{anchor}"]')
    expect(section).to_have_count(1)
    expect(section).to_be_in_viewport()
    cited_heading = label.split("›")[-1].split("(S.")[0].strip()
    expect(section).to_contain_text(cited_heading)
    expect(section).to_contain_text("LoD2")
    shot(source, tmp_path, "source-view")
    source.close()

    # 👎 with a comment
    expect(answer.get_by_test_id("lotse-up")).to_have_attribute("aria-label", "Hilfreich")
    down = answer.get_by_test_id("lotse-down")
    expect(down).to_have_attribute("aria-label", "Nicht hilfreich")
    down.click()
    comment = answer.get_by_test_id("lotse-comment")
    expect(comment).to_be_focused()
    comment.fill("Bitte auch die Bezugsquelle nennen.")
    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as feedback:
        answer.get_by_test_id("lotse-comment-send").click()
    assert feedback.value.status == 200
    assert feedback.value.request.post_data_json == {
        "answer_id": feedback.value.request.post_data_json["answer_id"], "rating": "down",
        "comment": "Bitte auch die Bezugsquelle nennen.",
    }
    expect(answer.get_by_test_id("lotse-thanks")).to_have_text("Danke für Ihre Rückmeldung!")
    expect(answer.get_by_test_id("lotse-up")).to_be_disabled()
    expect(answer.get_by_test_id("lotse-comment")).to_have_count(0)

    # an English follow-up in the same conversation
    with page.expect_request(lambda r: r.url.endswith("/api/chat/stream")) as second_request:
        follow_up = ask(page, FOLLOW_UP_EN)
    assert second_request.value.post_data_json["conversation_id"] == conversation
    expect(page.get_by_test_id("lotse-answer")).to_have_count(2)
    expect(follow_up).not_to_have_attribute("data-error", "true")
    assert follow_up.locator(".body").inner_text().strip()
    expect(follow_up.get_by_test_id("lotse-up")).to_be_visible()
    shot(page, tmp_path, "widget-follow-up")

    # the conversation survives navigation in the same tab
    page.reload()
    open_widget(page)
    expect(page.get_by_test_id("lotse-answer")).to_have_count(2)
    expect(page.get_by_test_id("lotse-panel")).to_contain_text(QUESTION_DE)
    expect(page.get_by_test_id("lotse-answer").first.get_by_test_id("lotse-citation").first).to_have_attribute(
        "href", first.get_attribute("href") or ""
    )
    assert page.evaluate("sessionStorage.getItem('lotse.conversation')") == conversation


DSFA_QUESTION = "Wann ist eine Datenschutz-Folgenabschätzung nötig?"
DSFA_PIECES = ["Eine Datenschutz-Folgenabschätzung ", "nach Art. 35 DSGVO ist nötig, ", "wenn ein hohes Risiko besteht. [1]"]


def test_streamed_text_shows_before_the_answer_is_complete(settings: Settings, fake_index, serve_app, context) -> None:  # type: ignore[no-untyped-def]
    """The server streams every delta, then holds the final answer back until the test releases it:
    whatever the bubble shows meanwhile can only have come from the stream."""
    generator = ScriptedGenerator(DSFA_PIECES, hold=True)
    never_refuse(settings)  # about streaming, not refusal

    def build(base: str):  # type: ignore[no-untyped-def]
        settings.answer.public_url = base
        settings.db.url = f"sqlite:///{settings.paths.data_dir}/stream.db"
        return create_app(settings, Service(settings, engine=AnswerEngine(settings, fake_index, generator=generator)))

    base = serve_app(build)
    page = context.new_page()
    page.goto(base + "/")
    open_widget(page)
    try:
        box = page.get_by_test_id("lotse-input")
        box.fill(DSFA_QUESTION)
        box.press("Enter")
        assert generator.streamed.wait(60), "the server never streamed the answer"
        bubble = page.get_by_test_id("lotse-answer").first
        body = bubble.locator(".body")
        # every delta is painted while the answer is still incomplete (it is held on the server)
        expect(body).to_contain_text("Eine Datenschutz-Folgenabschätzung nach Art. 35 DSGVO ist nötig, wenn ein hohes Risiko besteht.",
                                     timeout=30_000)
        expect(body.locator(".typing")).to_have_count(0)
        expect(bubble).to_have_attribute("data-state", "streaming")
        expect(bubble).to_have_attribute("aria-busy", "true")
        expect(page.get_by_test_id("lotse-send")).to_be_disabled()
        expect(bubble.get_by_test_id("lotse-citation")).to_have_count(0)  # the checked answer has not arrived
        assert not generator.release.is_set()
    finally:
        generator.release.set()
    expect(bubble).to_have_attribute("data-state", "done")
    expect(bubble).not_to_have_attribute("data-error", "true")
    expect(bubble.get_by_test_id("lotse-citation").first).to_be_visible()
    expect(bubble.get_by_test_id("lotse-marker").first).to_be_visible()
    expect(page.get_by_test_id("lotse-send")).to_be_enabled()


def test_english_ui_on_a_third_party_page(lotse_server: str, embed_site, context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Embedded on another origin: base URL from the script's src, CORS, English strings and errors.

    The host page declares no charset (the browser falls back to windows-1252): the widget's
    strings must still come out right.
    """
    host_page = (
        '<!doctype html><html lang="en"><head><title>Intranet</title></head><body><h1>City intranet</h1>'
        f'<script src="{lotse_server}/widget.js" data-title="City assistant" data-lang="en"></script></body></html>'
    )
    page = context.new_page()
    page.goto(embed_site.page("intranet.html", host_page))
    launcher = page.get_by_test_id("lotse-launcher")
    expect(launcher).to_have_attribute("aria-label", "Open Lotse")
    open_widget(page)
    panel = page.get_by_test_id("lotse-panel")
    expect(panel.locator("h2")).to_have_text("City assistant")
    expect(panel).to_contain_text("Hello! I answer questions")
    box = page.get_by_label("Your question")
    expect(box).to_have_attribute("placeholder", "Ask about guides, checklists, templates …")
    expect(page.get_by_test_id("lotse-send")).to_have_attribute("aria-label", "Send question")
    expect(panel.get_by_role("button", name="Close")).to_be_visible()

    answer = ask(page, QUESTION_EN)
    expect(answer).not_to_have_attribute("data-error", "true")
    expect(answer.get_by_test_id("lotse-citation").first).to_be_visible()
    expect(answer).to_contain_text("Sources")
    up = answer.get_by_test_id("lotse-up")
    expect(up).to_have_attribute("aria-label", "Helpful")
    expect(answer.get_by_test_id("lotse-down")).to_have_attribute("aria-label", "Not helpful")
    up.click()
    expect(answer.get_by_test_id("lotse-thanks")).to_have_text("Thanks for your feedback!")
    shot(page, tmp_path, "widget-english")

    # the server's own error (question too long; the input's maxlength stops typing it)
    page.evaluate("window.Lotse.ask('x'.repeat(1001))")
    too_long = page.get_by_test_id("lotse-answer").nth(1)
    expect(too_long).to_have_attribute("data-state", "done")
    expect(too_long).to_have_attribute("data-error", "true")
    expect(too_long).to_contain_text("1000")
    expect(page.get_by_test_id("lotse-send")).to_be_enabled()

    # the network fails
    page.route(f"{lotse_server}/api/chat/stream", lambda route: route.abort())
    failed = ask(page, "Is anyone there?")
    expect(failed).to_have_attribute("data-error", "true")
    expect(failed).to_contain_text("Connection failed")


def test_lists_and_refusals_render_readably(lotse_server: str, context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(lotse_server + "/")
    open_widget(page)
    shot(page, tmp_path, "widget-greeting")
    # a checklist answer: "- " lines become a list, markers become links, no raw markup shows
    checklist = ask(page, "Was muss ich vor dem Start eines Digitalen Zwillings prüfen? Checkliste")
    expect(checklist).not_to_have_attribute("data-error", "true")
    items = checklist.locator(".body li")
    assert items.count() >= 3, checklist.inner_text()
    expect(items.first.get_by_test_id("lotse-marker")).to_be_visible()
    assert "- " not in checklist.locator(".body").inner_text().splitlines()[-1][:2]
    shot(page, tmp_path, "widget-checklist")
    # a refusal shows the closest sources instead of citations
    refusal = ask(page, "Wie backe ich einen Apfelkuchen?")
    expect(refusal).to_contain_text("Nächstliegende Quellen")
    expect(refusal.get_by_test_id("lotse-citation")).to_have_count(0)
    sources = refusal.get_by_test_id("lotse-source")
    expect(sources.first).to_be_visible()
    assert "/sources/" in (sources.first.get_attribute("href") or "")
    shot(page, tmp_path, "widget-refusal")


def test_mobile_panel_fills_the_screen(lotse_server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        viewport={"width": 375, "height": 700}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="de-DE"
    )
    try:
        page = context.new_page()
        page.goto(lotse_server + "/")
        launcher = page.get_by_test_id("lotse-launcher")
        expect(launcher).to_be_in_viewport()
        launcher.tap()
        panel = page.get_by_test_id("lotse-panel")
        expect(panel).to_be_visible()
        box = panel.bounding_box()
        assert box and box["width"] >= 360 and box["height"] >= 680, box
        expect(page.get_by_test_id("lotse-input")).to_be_in_viewport()
        expect(page.get_by_test_id("lotse-send")).to_be_in_viewport()
        answer = ask(page, QUESTION_DE)
        expect(answer.get_by_test_id("lotse-citation").first).to_be_visible()
        shot(page, tmp_path, "widget-mobile")
        page.get_by_role("button", name="Schließen").tap()
        expect(panel).to_be_hidden()
    finally:
        context.close()


def test_keyboard_accessibility_and_isolation_from_host_css(lotse_server: str, context) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(lotse_server + "/")
    launcher = page.get_by_test_id("lotse-launcher")
    # Tab reaches the launcher; it shows a visible focus ring
    for _ in range(40):
        page.keyboard.press("Tab")
        if launcher.evaluate("e => e.getRootNode().activeElement === e"):
            break
    else:
        pytest.fail("Tab never reached the launcher")
    assert launcher.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"

    page.keyboard.press("Enter")
    expect(page.get_by_test_id("lotse-panel")).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    box = page.get_by_test_id("lotse-input")
    expect(box).to_be_focused()
    expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")  # screen readers hear answers
    expect(page.get_by_role("dialog", name="Lotse")).to_be_visible()

    # Shift+Enter is a newline, not a send
    page.keyboard.type("Zeile eins")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Zeile zwei")
    expect(box).to_have_value("Zeile eins\nZeile zwei")
    expect(page.get_by_test_id("lotse-answer")).to_have_count(0)

    page.keyboard.press("Escape")
    expect(page.get_by_test_id("lotse-panel")).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert launcher.evaluate("e => e.getRootNode().activeElement === e"), "focus returns to the launcher"

    # the demo page's aggressive CSS (purple, Comic Sans, pink borders, letter-spacing) stays outside
    page.keyboard.press("Enter")
    styles = page.get_by_test_id("lotse-input").evaluate(
        "e => { const s = getComputedStyle(e); return [s.fontFamily, s.borderTopColor, s.letterSpacing, s.color]; }"
    )
    font, border, spacing, color = styles
    assert "Comic" not in font and "serif" != font, font
    assert border != "rgb(255, 105, 180)", border
    assert spacing == "normal", spacing
    assert color != "rgb(128, 0, 128)", color
    expect(page.get_by_test_id("lotse-send")).to_be_visible()
