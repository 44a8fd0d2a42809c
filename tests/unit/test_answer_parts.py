"""Fusion, language, follow-ups, citation mapping and the refusal path, without a real model."""

from __future__ import annotations

import pytest
from fakes import FakeEmbedder, never_refuse

from assistant.analysis import TextAnalysis
from assistant.answer import REFUSAL, AnswerEngine
from assistant.citations import CitationChecker, split_segments
from assistant.conversation import Turn, cue_features, merged_query
from assistant.errors import LotseError, ServiceCode
from assistant.language import detect_language
from assistant.passages import UnitVectors, make_passages, split_units
from assistant.settings import CitationSettings, Settings
from assistant.types import Hit
from ingest.keyword import Analyzer
from ingest.types import StoredChunk


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Wann brauche ich eine Datenschutz-Folgenabschätzung?", "de"),
        ("Und wer muss dabei beteiligt werden?", "de"),
        ("Förderprogramme?", "de"),
        ("Which funding programmes exist for digital twins?", "en"),
        ("What about the deadline?", "en"),
        ("Who is the Data Steward?", "en"),
    ],
)
def test_language_detection(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_follow_up_cues_and_the_merged_query() -> None:
    assert cue_features("Und wer muss dabei beteiligt werden?") == {"opener": 1.0, "pointer": 1.0, "short": 0.0, "topic": 0.0}
    assert cue_features("Und für Landkreise?")["short"] == 1.0
    assert cue_features("Wie lange dauert das ungefähr?")["pointer"] == 1.0
    assert cue_features("Welche Förderprogramme des Bundes gibt es für Modellprojekte Smart Cities?") == {
        "opener": 0.0, "pointer": 0.0, "short": 0.0, "topic": 1.0}
    previous = Turn("Wann ist eine Datenschutz-Folgenabschätzung Pflicht?")
    assert merged_query("Und wer berät dabei?", previous) == "Und wer berät dabei? Wann ist eine Datenschutz-Folgenabschätzung Pflicht?"
    assert "Datenschutz" in merged_query("Und das?", Turn("A?", condensed="A? Datenschutz"))


def _passages() -> list:  # type: ignore[type-arg]
    def hit(cid: str, text: str, section: tuple[str, ...]) -> Hit:
        chunk = StoredChunk(cid, text, doc_id=cid.split(":")[0], title=section[0], section_path=section,
                            anchor="a-" + cid[-1], page=3, doc_type="leitfaden")
        return Hit(chunk, 1.0)

    return make_passages([
        hit("lf:1", "Eine Datenschutz-Folgenabschätzung ist bei hohem Risiko Pflicht. Der Datenschutzbeauftragte berät.",
            ("Leitfaden", "3 DSFA")),
        hit("lf:2", "Das LoD2-Gebäudemodell wird jährlich aktualisiert.", ("Leitfaden", "4 Daten")),
    ])


def _checker(**settings: object) -> CitationChecker:
    embedder = FakeEmbedder()
    analysis = TextAnalysis(UnitVectors(embedder), lambda: Analyzer())
    return CitationChecker(analysis, CitationSettings(**settings), "https://lotse.example")  # type: ignore[arg-type]


def test_segments_and_invented_ids() -> None:
    segments = split_segments("Satz eins [1]. Satz zwei [2][7] Satz drei [1, 9]\n- Punkt [3]", {1, 2, 3})
    assert [s.cited for s in segments] == [[1], [2], [1], [3]]
    assert [s.invented for s in segments] == [0, 1, 1, 0]


def test_citation_check_maps_renumbers_and_drops() -> None:
    passages = _passages()
    text = (
        "Das LoD2-Gebäudemodell wird jährlich aktualisiert. [2] "
        "Eine Datenschutz-Folgenabschätzung ist bei hohem Risiko Pflicht. [1][7] "
        "Der Mond besteht aus grünem Käse und Bürgermeister tanzen. [1] "
        "Ohne jeden Beleg."
    )
    checked = _checker().check(text, passages)
    assert checked.invented == 1
    assert checked.unsupported == 2
    assert checked.text == (
        "Das LoD2-Gebäudemodell wird jährlich aktualisiert. [1] "
        "Eine Datenschutz-Folgenabschätzung ist bei hohem Risiko Pflicht. [2]"
    )
    first, second = checked.citations
    assert (first.n, first.chunk_id, first.section, first.page) == (1, "lf:2", "Leitfaden › 4 Daten", 3)
    assert first.url == "https://lotse.example/sources/lf#a-2"
    assert second.quote == "Eine Datenschutz-Folgenabschätzung ist bei hohem Risiko Pflicht."


def test_citation_check_can_flag_instead_of_remove() -> None:
    checked = _checker(unsupported="flag").check("Der Mond ist aus Käse. [1]", _passages())
    assert checked.text.endswith("[1][?]") and checked.unsupported == 1


def test_one_sentence_of_a_long_list_item_is_supported_and_a_changed_figure_is_not() -> None:
    item = ("- **TwinBy** – Das Förderprogramm des Bayerischen Digitalministeriums lief als Wettbewerb mit mehreren "
            "Runden, begleitet von Schulungen und einem Netzwerk. Gefördert wurden bis zu 50.000 € je Kommune.")
    chunk = StoredChunk("lf:3", "Programme:\n\n" + item, doc_id="lf", title="Leitfaden", section_path=("Leitfaden", "4 Förderung"),
                        anchor="a-3", page=4, doc_type="leitfaden")
    passages = make_passages([Hit(chunk, 1.0)])
    checker = _checker()
    quoted = "Gefördert wurden bis zu 50.000 € je Kommune."
    assert not checker.supports(checker.evidence(quoted, passages[0]), "de")  # the whole item is too far from it
    assert checker.judge(quoted, passages[0], "de")[1]  # its own sentence is not
    checked = checker.check(f"{quoted} [1] Gefördert wurden bis zu 60.000 € je Kommune. [1]", passages)
    assert checked.text == f"{quoted} [1]" and checked.unsupported == 1
    assert checked.citations[0].quote == quoted


def test_units_keep_items_and_blocks_whole() -> None:
    units = split_units("Einleitung. Zweiter Satz.\n\n- [ ] **Punkt** – Erklärung\n  weiter\n\n> Baustein Zeile 1\n> Zeile 2")
    assert [(u.kind, u.text) for u in units] == [
        ("sentence", "Einleitung."), ("sentence", "Zweiter Satz."),
        ("item", "Punkt – Erklärung weiter"), ("block", "Baustein Zeile 1 Zeile 2"),
    ]


def test_a_lead_in_stays_with_what_it_introduces() -> None:
    units = split_units("Sie berät. Sie entscheidet aber nicht: Verantwortlich bleibt die Kommune.\n\nDas sind die Schritte:\n\n- Eins")
    assert [u.text for u in units] == [
        "Sie berät.", "Sie entscheidet aber nicht: Verantwortlich bleibt die Kommune.", "Das sind die Schritte:", "Eins"]


def test_question_validation(settings: Settings, fake_index) -> None:  # type: ignore[no-untyped-def]
    engine = AnswerEngine(settings, fake_index)
    with pytest.raises(LotseError) as empty:
        engine.answer("   ")
    assert empty.value.code == ServiceCode.EMPTY_QUESTION
    with pytest.raises(LotseError) as long:
        engine.answer("Frage " * 400)
    assert long.value.code == ServiceCode.QUESTION_TOO_LONG and "zu lang" in long.value.message
    assert "too long" in long.value.text("en")


def test_weak_evidence_is_refused_with_closest_sources(settings: Settings, fake_index) -> None:  # type: ignore[no-untyped-def]
    settings.refusal.weights, settings.refusal.bias = {"top_dense": 1.0}, -5.0  # the model's answer probability stays low
    answer = AnswerEngine(settings, fake_index).answer("Wann ist eine Datenschutz-Folgenabschätzung nötig?")
    assert answer.refused and answer.text == REFUSAL["de"] and not answer.citations
    assert len(answer.sources) == 3 and answer.sources[0].url.startswith(settings.answer.public_url)
    english = AnswerEngine(settings, fake_index).answer("When is a data protection impact assessment required?")
    assert english.refused and english.text == REFUSAL["en"]


def test_extractive_answer_cites_verbatim_sentences(settings: Settings, fake_index) -> None:  # type: ignore[no-untyped-def]
    never_refuse(settings)
    answer = AnswerEngine(settings, fake_index).answer("Wann ist eine Datenschutz-Folgenabschätzung nötig?")
    assert not answer.refused and answer.citations and answer.invented == 0 and answer.unsupported == 0
    assert "Art. 35" in answer.text.split("\n")[0]  # the answer first, no lead-in
    for citation in answer.citations:
        assert f"[{citation.n}]" in answer.text
        assert citation.quote in answer.text or citation.quote[:40] in answer.text
