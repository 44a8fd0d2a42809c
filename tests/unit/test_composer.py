"""The extractive composer: answer first, lists whole, templates verbatim, contacts, hygiene."""

from __future__ import annotations

import pytest
from fakes import FakeEmbedder

from assistant.analysis import TextAnalysis
from assistant.composer import Composer, closed
from assistant.generation import AskVector, GenerationRequest
from assistant.hygiene import lint
from assistant.passages import UnitVectors, make_passages
from assistant.question import asked_words, kind_of, parts
from assistant.reader import Reader
from assistant.settings import UNIT_FEATURES, GeneratorSettings
from assistant.types import Hit
from ingest.keyword import Analyzer
from ingest.types import StoredChunk

EMBEDDER = FakeEmbedder()

FUNDING = ("Das Bundesprogramm Modellprojekte Smart Cities ist seit 2019 offen. Im Programm Modellprojekte Smart Cities "
           "liegt die Förderquote bei 65 %, bei Haushaltsnotlage bei 90 %. Web: https://www.smart-city-dialog.de")
STEPS = ("Eine DSFA läuft in sechs Schritten ab:\n\n1. Verarbeitung beschreiben\n\n2. Notwendigkeit prüfen\n\n"
         "3. Risiken bewerten\n\n4. Maßnahmen festlegen\n\n5. Ergebnis dokumentieren\n\n6. Fortschreiben")
TEMPLATE = ("Für den Beschluss eignet sich dieser Baustein.\n\n"
            "> Der Rat beschließt: Die Verwaltung wird beauftragt, [Anwendungsfall] zu erproben.")
CONTACT = ("Für Kommunen ist meist die Vermessungsverwaltung des eigenen Landes die erste Anlaufstelle für 3D-Gebäudemodelle. "
           "Hamburg stellt sein 3D-Stadtmodell offen bereit. Web: https://www.geoportal-hamburg.de")


def hit(cid: str, text: str, section: tuple[str, ...], doc_type: str = "leitfaden", kind: str = "text") -> Hit:
    return Hit(StoredChunk(cid, text, doc_id=cid.split(":")[0], title=section[0], section_path=section, doc_type=doc_type, kind=kind), 1.0)


PASSAGES = make_passages([
    hit("fin:1", FUNDING, ("Leitfaden Finanzierung", "3.2 Konditionen der MPSC")),
    hit("dsr:1", STEPS, ("Leitfaden Datenschutz", "5.3 Ablauf einer DSFA")),
    hit("bes:1", TEMPLATE, ("Vorlage Beschluss", "2.2 Beschlussvorschlag"), "vorlage", "template"),
    hit("ver:1", CONTACT, ("Verzeichnis", "3.3 Vermessungsverwaltungen der Länder"), "verzeichnis"),
])


def compose(question: str, language: str = "de") -> str:
    composer = Composer(GeneratorSettings(), TextAnalysis(UnitVectors(EMBEDDER), lambda: Analyzer()))
    asks = [AskVector(a.text, a.kind, EMBEDDER.embed_queries([a.text])[0]) for a in parts(question)]
    request = GenerationRequest(question, language, PASSAGES, asks)
    draft = composer.compose(request)
    return (draft.lead + "\n\n" if draft.lead else "") + draft.text


def test_kinds_and_parts_of_questions() -> None:
    assert kind_of("Welche Förderquote gilt für MPSC?") == "quantity"
    assert kind_of("Was muss in eine DSFA?") == "list"
    assert kind_of("Gibt es einen Textbaustein für den Beschluss?") == "template"
    assert kind_of("Wer ist Ansprechpartner für 3D-Stadtmodelle?") == "contact"
    assert kind_of("Bis wann muss der Wärmeplan fertig sein?") == "time"
    assert kind_of("Wo trage ich im Kurzprofil ein, was schiefgehen kann?") == "template"
    assert kind_of("Gibt es ein Muster dafür?") == "template"
    # a document named by a compound is what is asked about, not wording to copy
    assert kind_of("Welche Open-Source-Bausteine kann man nachnutzen?") != "template"
    assert kind_of("Darf ich die Quote in unsere Ratsvorlage übernehmen?") != "template"
    assert kind_of("Aus wie vielen Treffen besteht das Programm?") == "quantity"
    assert kind_of("Ab welchem Betrag müssen wir EU-weit ausschreiben?") == "quantity"  # any case of "welcher"
    assert kind_of("Was kostet der bundesweite Datensatz?") == "quantity"
    assert kind_of("Which items should I tick off when evaluating a use case?") != "time"  # "when" as a conjunction
    assert kind_of("When does the Data Act apply?") == "time"
    assert kind_of("When we take stock of our data, what should we check?") != "time"
    asked = parts("Welche Förderquote gibt es bei den Modellprojekten Smart Cities und bis wann muss der Antrag raus?")
    assert [(a.text, a.kind) for a in asked] == [
        ("Welche Förderquote gibt es bei den Modellprojekten Smart Cities?", "quantity"), ("bis wann muss der Antrag raus?", "time")]
    assert len(parts("Wie hängen GDI und UDP zusammen?")) == 1


def test_the_asked_figure_comes_first_without_urls() -> None:
    text = compose("Welche Förderquote gilt für Modellprojekte Smart Cities?")
    first = text.split("\n")[0]
    assert "65 %" in first and "90 %" in first and first.endswith("[1]")
    assert "http" not in text and lint(text) == []


def test_a_list_comes_whole_with_its_header() -> None:
    text = compose("Wie läuft eine DSFA in Schritten ab?")
    lines = text.split("\n")
    assert lines[0].startswith("Eine DSFA läuft in sechs Schritten ab:")
    assert [line for line in lines if line.startswith("- ")] == [
        f"- {step} [2]" for step in ("Verarbeitung beschreiben", "Notwendigkeit prüfen", "Risiken bewerten",
                                     "Maßnahmen festlegen", "Ergebnis dokumentieren", "Fortschreiben")]
    assert lint(text) == []


def test_a_template_comes_verbatim_with_its_source() -> None:
    text = compose("Gibt es einen Textbaustein für den Beschluss?")
    lead, block = text.split("\n\n", 1)
    assert lead == "Textbaustein aus „Vorlage Beschluss“, 2.2 Beschlussvorschlag:"
    assert block == "> Der Rat beschließt: Die Verwaltung wird beauftragt, [Anwendungsfall] zu erproben. [3]"


def test_a_contact_names_the_office_and_keeps_links_out_of_the_text() -> None:
    text = compose("Wer ist Ansprechpartner für 3D-Stadtmodelle?")
    assert text.startswith("**Vermessungsverwaltungen der Länder** – Für Kommunen ist meist die Vermessungsverwaltung")
    assert "http" not in text


@pytest.mark.parametrize(
    "text, rule",
    [
        ("Die Schritte sind: [1]", "fragment"),
        ("Wer hilft uns dabei? [1]", "question copied from the source"),
        ("Mehr unter https://example.org [1]", "raw URL"),
        ("Die Quote liegt bei 65 %. [1] Die Quote liegt bei 65 %. [2]", "repeated fact"),
        ("Das Programm fördert Kommunen direkt. [1]\nDas Programm fördert Kommunen direkt. [2]", "repeated fact"),
        (" ".join(["Wort"] * 130) + ". [1]", "too long"),
    ],
)
def test_hygiene_lint_names_each_violation(text: str, rule: str) -> None:
    assert [v.rule for v in lint(text)] == [rule]


def test_a_fact_said_again_in_other_words_is_a_repeat_and_another_figure_is_not() -> None:
    first = ("Das Bundesprogramm Modellprojekte Smart Cities (MPSC) von BMWSB und KfW (Programm 436) "
             "fördert 73 Kommunen und Kooperationen in drei Staffeln. [1]")
    again = "Das Bundesprogramm Modellprojekte Smart Cities (MPSC) fördert 73 Kommunen bzw. Kooperationen in drei Staffeln seit 2019. [2]"
    assert [v.rule for v in lint(f"{first}\n{again}")] == ["repeated fact"]
    assert lint("Im Programm MPSC liegt die Förderquote bei 65 %. [1]\nIm Programm DAS liegt die Förderquote bei 80 %. [2]") == []
    # a sentence that adds new figures still repeats the ones it shares, with their words
    more = "In drei Staffeln ab 2019 wurden 73 Kommunen bzw. kommunale Kooperationen ausgewählt; die Mittel betragen 820 Mio. €. [3]"
    assert [v.rule for v in lint(f"{first}\n{more}")] == ["repeated fact"]
    assert lint("Das Online-Programm startete am 29.08.2025 mit 18 Kommunen. [1]\n"
                "Am 29.08.2025 hielten vier Kommunen Impulsvorträge. [2]") == []  # one date, two facts
    # "Art." does not end a sentence, so no piece of it repeats on its own
    assert lint("Eine DSFA nach Art. 35 DSGVO ist bei hohem Risiko Pflicht. [1]\n"
                "Die Aufsicht führt nach Art. 35 Abs. 4 eine Liste. [2]") == []


def test_a_counted_figure_is_said_once_and_cited_from_both_passages() -> None:
    question = "Wie viele Kommunen fördert das Programm Modellprojekte Smart Cities?"
    ask = AskVector(question, kind_of(question), EMBEDDER.embed_queries([question])[0])
    one = hit("ver:5", "Das Bundesprogramm Modellprojekte Smart Cities fördert 73 Kommunen und Kooperationen in drei Staffeln.",
              ("Verzeichnis", "5.1 Modellprojekte Smart Cities"))
    two = hit("fin:3", "In drei Staffeln ab 2019 wurden 73 Kommunen bzw. kommunale Kooperationen ausgewählt; "
                       "die Programmmittel belaufen sich auf rund 820 Mio. €.", ("Leitfaden Finanzierung", "3.1 MPSC"))
    composer = Composer(GeneratorSettings(margin=1.0), TextAnalysis(UnitVectors(EMBEDDER), lambda: Analyzer()))
    text = composer.compose(GenerationRequest(question, "de", make_passages([one, two]), [ask])).text
    assert len(text.split("\n")) == 1 and "[1][2]" in text and not lint(text), text


def test_items_of_one_list_are_distinct_but_an_item_repeating_a_sentence_is_not() -> None:
    items = "Geprüft wird: [1]\n- Die Daten liegen als Open Data vor. [1]\n- Die Daten liegen als Open Data im Portal vor. [1]"
    assert lint(items) == []
    assert [v.rule for v in lint("Die Daten liegen als Open Data vor. [2]\n" + items)] == ["repeated fact"] * 2


def test_hygiene_accepts_a_list_after_its_header() -> None:
    assert lint("Die Schritte sind: [1]\n- Erstens [1]\n- Zweitens [1]") == []


def test_hygiene_accepts_a_template_lead_and_question_items_of_a_whole_list() -> None:
    assert lint("Textbaustein aus „Vorlage“, 2.3 Aufgaben:\n\n> Die Stelle pflegt die Daten. [1]") == []
    assert lint("Prüfen Sie: [1]\n- Risiken bewerten: Was kann schiefgehen? [1]\n- Maßnahmen festlegen. [1]") == []


def test_the_unit_weights_order_the_lines() -> None:
    close = Hit(StoredChunk("a:1", "Die Förderquote im Programm liegt bei 65 Prozent der Kosten.", doc_id="a", title="A",
                            section_path=("A", "1 Quote")), 1.0, dense=0.70)
    relevant = Hit(StoredChunk("b:1", "Gefördert werden im Programm DAS Anpassungskonzepte mit 80 Prozent.", doc_id="b", title="B",
                               section_path=("B", "2 DAS")), 0.9, dense=0.95)
    passages = make_passages([close, relevant])
    question = "Welche Förderquote gilt im Programm?"
    ask = AskVector(question, kind_of(question), EMBEDDER.embed_queries([question])[0])

    def first_lines(weights: dict[str, float]) -> list[str]:
        settings = GeneratorSettings(margin=1.0, unit_weights=weights)
        composer = Composer(settings, TextAnalysis(UnitVectors(EMBEDDER), lambda: Analyzer()))
        draft = composer.compose(GenerationRequest(question, "de", passages, [ask]))
        return draft.text.split("\n")

    assert first_lines(GeneratorSettings().unit_weights)[0].startswith("Die Förderquote im Programm")  # closest first
    lines = first_lines({"dense": 1.0})  # the passage the retriever trusts most leads
    assert lines[0].startswith("Gefördert werden im Programm DAS") and lines[1].startswith("Die Förderquote im Programm")


def compose_from(text: str, section: tuple[str, ...], question: str, settings: GeneratorSettings | None = None) -> str:
    """The composer's answer (default settings unless given) to `question` from one passage."""
    ask = AskVector(question, kind_of(question), EMBEDDER.embed_queries([question])[0])
    composer = Composer(settings or GeneratorSettings(), TextAnalysis(UnitVectors(EMBEDDER), lambda: Analyzer()))
    return composer.compose(GenerationRequest(question, "de", make_passages([hit("x:1", text, section)]), [ask])).text


@pytest.mark.parametrize(("text", "shown"), [
    ("Sachsen-Anhalt beschreibt seine 3D-Gebäudemodelle", "Sachsen-Anhalt beschreibt seine 3D-Gebäudemodelle."),
    ("LoD2 liegt vor (Stand 2024)", "LoD2 liegt vor (Stand 2024)."),
    ("Die Daten sind offen.", "Die Daten sind offen."),
    ("„Zu teuer.“", "„Zu teuer.“"),
])
def test_a_text_shown_as_a_sentence_ends_as_one(text: str, shown: str) -> None:
    assert closed(text) == shown


def test_a_how_many_question_leads_with_the_count_of_what_it_asks() -> None:
    """The unit scored best names the programme but no number of municipalities; the one that
    counts them lies within the margin and leads instead."""
    text = "Das Online-Programm der Initiative startete am 29.08.2025 mit einem Auftakt. Es nehmen 18 Kommunen aus 7 Bundesländern teil."
    settings = GeneratorSettings(margin=1.0, unit_weights={"position": -1.0})
    question = "Wie viele Kommunen sind beim Online-Programm dabei?"
    assert asked_words(question) == ["Kommunen"]
    lines = compose_from(text, ("Sitzung", "2.1 Zusammensetzung"), question, settings).split("\n")
    assert "Es nehmen 18 Kommunen" in lines[0], lines
    # a best unit that names the asked word and gives a figure keeps the lead ("bei den Tackles (118)")
    named = "Bei den Kommunen aus Bayern lag die Zahl zuletzt bei zwölf (von 18). Es nehmen 18 Kommunen aus 7 Bundesländern teil."
    lines = compose_from(named, ("Sitzung", "2.1 Zusammensetzung"), question, settings).split("\n")
    assert "Bei den Kommunen aus Bayern" in lines[0], lines
    # a question that counts nothing keeps the best unit first
    lines = compose_from(text, ("Sitzung", "2.1 Zusammensetzung"), "Wann startete das Online-Programm?", settings).split("\n")
    assert lines[0].startswith("Das Online-Programm"), lines


def test_an_item_that_is_no_sentence_leads_after_its_lists_header() -> None:
    text = ("Typische Aufgaben des Data Owner:\n\n- fachliche Verantwortung für Inhalt und Richtigkeit des Datensatzes\n\n"
            "- Entscheidung über Zugriffsrechte und Weitergabe innerhalb der Regeln")
    settings = GeneratorSettings(margin=1.0, unit_weights={"item": 1.0, "position": -0.1})
    question = "Wer trägt die fachliche Verantwortung?"
    lines = compose_from(text, ("Leitfaden Data Governance", "3.3 Data Owner"), question, settings).split("\n")
    assert lines[0] == "Typische Aufgaben des Data Owner: fachliche Verantwortung für Inhalt und Richtigkeit des Datensatzes. [1]", lines
    assert lines[1:] == ["- Entscheidung über Zugriffsrechte und Weitergabe innerhalb der Regeln [1]"], lines


def test_a_supporting_sentence_pointing_back_comes_only_with_what_it_points_to() -> None:
    text = ("Der Übergabeplan hält fest, was vom Projektteam an den Betrieb geht. "
            "Er umfasst die Liste der Komponenten und die Verantwortlichen je Komponente. "
            "Hilfreich ist eine Parallelphase, in der Projekt- und Betriebsteam gemeinsam arbeiten.")
    section, question = ("Leitfaden Betrieb", "4.2 Übergabe"), "Wie übergeben wir den Zwilling an den Betrieb?"
    # scored by position: the last sentence leads; "Er umfasst …" may support only after the plan it names
    alone = compose_from(text, section, question, GeneratorSettings(margin=0.4, unit_weights={"position": 1.0}))
    assert [line.split()[0] for line in alone.split("\n")] == ["Hilfreich"], alone
    both = compose_from(text, section, question, GeneratorSettings(margin=1.0, unit_weights={"position": 1.0}))
    assert [line.split()[0] for line in both.split("\n")] == ["Hilfreich", "Der", "Er"], both


def test_a_direct_answer_pointing_back_comes_after_what_it_points_to() -> None:
    text = ("DIN hat mit der DIN SPEC 91607 eine Spezifikation zum Urbanen Digitalen Zwilling herausgegeben. "
            "Sie wurde am 08.10.2024 veröffentlicht und enthält ein Reifegradmodell.")
    settings = GeneratorSettings(margin=0.0, unit_weights={"position": 1.0})  # the second sentence leads
    lines = compose_from(text, ("Leitfaden Standards", "2.1 DIN SPEC 91607"), "Wann erschien die Spezifikation?", settings).split("\n")
    assert lines == ["DIN hat mit der DIN SPEC 91607 eine Spezifikation zum Urbanen Digitalen Zwilling herausgegeben. "
                     "Sie wurde am 08.10.2024 veröffentlicht und enthält ein Reifegradmodell. [1]"], lines


def test_a_figure_from_a_passage_without_a_heading_gets_no_empty_source() -> None:
    text = "Die Löcher haben einen Durchmesser von 6 mm und liegen 80 mm auseinander."
    question = "Wie viele Löcher sind in Schweden üblich?"
    assert compose_from(text, ("Aktenlochung", "3 Maße"), question).startswith("Laut „Maße“: Die Löcher")
    without = compose_from(text, ("Aktenlochung", ""), question)
    assert without.startswith("Die Löcher"), without


def test_a_list_without_its_own_header_is_introduced_by_its_source() -> None:
    items = ("- Betriebshandbuch vorhanden – Architektur, Komponenten und Notfallkontakte sind beschrieben.\n\n"
             "- Service-Level vereinbart – Verfügbarkeit und Reaktionszeiten sind schriftlich festgelegt.")
    question = "Welche Punkte sollte ich vor dem Regelbetrieb prüfen?"
    ask = AskVector(question, kind_of(question), EMBEDDER.embed_queries([question])[0])
    passages = make_passages([hit("chk:5", items, ("Checkliste Übergang in den Regelbetrieb", "5 Technik"))])
    composer = Composer(GeneratorSettings(), TextAnalysis(UnitVectors(EMBEDDER), lambda: Analyzer()))
    draft = composer.compose(GenerationRequest(question, "de", passages, [ask]))
    assert draft.lead == "Aus „Checkliste Übergang in den Regelbetrieb“, 5 Technik:", draft
    assert draft.text.startswith("- Betriebshandbuch vorhanden") and not lint(f"{draft.lead}\n\n{draft.text}"), draft
    # a list under its own header sentence needs no other lead
    headed = compose("Wie läuft eine DSFA ab, in welchen Schritten?")
    assert headed.startswith("Eine DSFA läuft in sechs Schritten ab:"), headed


def test_support_from_one_passage_keeps_the_sources_order() -> None:
    """Scored by position alone, the last sentence answers; the two before it support it in the
    order the guide gives them (read as a way to proceed), not in the order of their scores."""
    text = ("Zuerst sehen Sie in der Muss-Liste nach, ob Ihre Verarbeitung dort steht. "
            "Ist sie nicht aufgeführt, prüfen Sie die Kriterien des WP 248. "
            "Die Checkliste zur Vorprüfung führt Sie durch diese beiden Schritte.")
    settings = GeneratorSettings(margin=1.0, unit_weights={"position": 1.0})
    lines = compose_from(text, ("Leitfaden Datenschutz", "5.1 Prüfweg"), "Wie prüfen wir das?", settings).split("\n")
    assert [line.split()[0] for line in lines] == ["Die", "Zuerst", "Ist"], lines


def test_a_figure_from_a_long_item_keeps_the_items_lead_in() -> None:
    item = ("Bundesprogramme:\n\n- Modellprojekte Smart Cities (MPSC) des BMWSB: 73 Kommunen in drei Staffeln ab 2019. "
            "Die Förderquote wird mit 65 % angegeben, bei Haushaltsnotlage 90 %.\n- mFUND des BMDV: seit 2016.")
    first = compose_from(item, ("Sitzungsnotiz", "2.1 Bundesprogramme"), "Welche Förderquote gilt für Modellprojekte Smart Cities?")
    first = first.split("\n")[0]
    assert first.startswith("Modellprojekte Smart Cities (MPSC) des BMWSB: Die Förderquote wird mit 65 %"), first


def test_an_item_whose_first_statement_answers_comes_whole() -> None:
    item = ("Länder mit offenen 3D-Daten:\n\n- Nordrhein-Westfalen: Die Gebäudemodelle sind seit 2017 offene Daten. "
            "Sie liegen flächendeckend vor. Die Lizenz ist dl-de/zero-2.0.\n- Bayern: Das LoD2 ist kostenfrei.")
    text = compose_from(item, ("Leitfaden Standards", "7.2 Offene 3D-Gebäudedaten"), "Wo sind die Gebäudemodelle offene Daten?")
    # the lead-in "Nordrhein-Westfalen:" belongs to the first statement, so the item is not cut to it
    assert "Nordrhein-Westfalen: Die Gebäudemodelle sind seit 2017 offene Daten. Sie liegen" in text, text


def _heat_and_privacy() -> tuple[Hit, Hit, list[str]]:
    heat = Hit(StoredChunk("w:1", "Wärmepläne sind für Gemeinden bis zum 30.06.2028 fällig.",
                           doc_id="w", title="W", section_path=("W", "3.3 Wärmeplanung")), 1.2, dense=0.95)
    privacy = Hit(StoredChunk("d:1", "Der geschätzte Wärmebedarf auf Gebäudeebene ist ein personenbezogenes Datum.",
                              doc_id="d", title="D", section_path=("D", "3.1 Personenbezug")), 0.8, dense=0.80)
    return heat, privacy, ["Bis wann brauchen wir den Wärmeplan?", "ist der Wärmebedarf je Gebäude personenbezogen?"]


def test_a_part_judges_passages_by_its_own_search() -> None:
    heat, privacy, (_, second) = _heat_and_privacy()
    passages = make_passages([heat, privacy])
    reader = Reader(TextAnalysis(UnitVectors(EMBEDDER), lambda: Analyzer()), {})
    dense = UNIT_FEATURES.index("dense")
    vector = EMBEDDER.embed_queries([second])[0]
    whole = reader.units(AskVector(second, "yesno", vector), passages)
    own = reader.units(AskVector(second, "yesno", vector, {"d:1": Hit(privacy.chunk, 1.0, dense=0.97)}), passages)
    assert [row[dense] for row in whole.matrix] == [0.95, 0.80]  # the whole question's search
    assert [row[dense] for row in own.matrix] == [0.97, 0.97]  # its own: the heat passage gets no more than the floor


def test_a_later_part_does_not_lead_with_what_an_earlier_part_said() -> None:
    heat, privacy, (first, second) = _heat_and_privacy()
    asks = [AskVector(q, kind_of(q), EMBEDDER.embed_queries([q])[0]) for q in (first, second)]
    composer = Composer(GeneratorSettings(max_sentences=2, unit_weights={"similarity": 1.0, "dense": 5.0}),
                        TextAnalysis(UnitVectors(EMBEDDER), lambda: Analyzer()))
    request = GenerationRequest(f"{first} {second}", "de", make_passages([heat, privacy]), asks)
    lines = composer.compose(request).text.split("\n")
    assert lines[0].startswith("Wärmepläne sind für Gemeinden bis zum 30.06.2028 fällig.")
    assert any(line.startswith("Der geschätzte Wärmebedarf auf Gebäudeebene") for line in lines[1:]), lines
    assert len(lines) == len(set(lines))


def test_a_list_under_a_heading_naming_the_asked_thing_comes_first() -> None:
    terms = Hit(StoredChunk("dg:1", "Dieser Leitfaden verwendet sie so:\n\n- Datenstrategie: das Zielbild\n\n"
                            "- Data Governance: der Ordnungsrahmen\n\n- Datenmanagement: die operative Arbeit",
                            doc_id="dg", title="DG", section_path=("DG", "1.2 Begriffe")), 1.2, dense=0.95)
    roles = Hit(StoredChunk("dg:2", "Es gibt vier zentrale Funktionen:\n\n- Gesamtverantwortung: die Spitze\n\n"
                            "- Management: koordiniert\n\n- Gremium: entscheidet\n\n- Plattformbetrieb: betreibt",
                            doc_id="dg", title="DG", section_path=("DG", "3.2 Zentrale Rollen")), 1.0, dense=0.80)
    question = "Welche Rollen braucht Data Governance?"
    ask = AskVector(question, kind_of(question), EMBEDDER.embed_queries([question])[0])
    composer = Composer(GeneratorSettings(unit_weights={"dense": 1.0}), TextAnalysis(UnitVectors(EMBEDDER), lambda: Analyzer()))
    text = composer.compose(GenerationRequest(question, "de", make_passages([terms, roles]), [ask])).text
    assert text.startswith("Es gibt vier zentrale Funktionen:") and "- Gremium: entscheidet" in text, text
    # a compound part does not name it: "Kriterien" is not the "Bewertungskriterien" of another list
    criteria = Hit(StoredChunk("vg:1", "Bewährt haben sich diese Punkte:\n\n- Wirtschaftlichkeit: über die Laufzeit\n\n"
                               "- Offenheit: Standards und Export\n\n- Eignung: für den Use Case",
                               doc_id="vg", title="VG", section_path=("VG", "7.1 Bewertungskriterien für Angebote")), 1.0, dense=0.80)
    question = "Nach welchen Kriterien ordnen wir die Ideen?"
    ask = AskVector(question, "list", EMBEDDER.embed_queries([question])[0])
    lexicon = frozenset({"bewertung", "kriterien"})  # so that the keyword analysis splits the compound
    composer = Composer(GeneratorSettings(unit_weights={"dense": 1.0}),
                        TextAnalysis(UnitVectors(EMBEDDER), lambda: Analyzer(lexicon=lexicon)))
    text = composer.compose(GenerationRequest(question, "de", make_passages([terms, criteria]), [ask])).text
    assert text.startswith("Dieser Leitfaden verwendet sie so:"), text


def test_a_list_under_a_heading_the_question_names_whole_comes_first() -> None:
    support = Hit(StoredChunk("c:6", "Vor dem Start sichern:\n\n- Personal im Kernteam mit Zeitanteilen\n\n"
                              "- Finanzierung des Pilots\n\n- Betrieb nach dem Pilot", doc_id="c", title="C",
                              section_path=("C", "6 Ressourcen und Betrieb")), 1.2, dense=0.95)
    roles = Hit(StoredChunk("c:3", "Vor dem Start klären:\n\n- Koordinierende Stelle festgelegt\n\n"
                            "- Kernteam gebildet\n\n- Eskalationsweg geklärt", doc_id="c", title="C",
                            section_path=("C", "3 Organisation und Rollen")), 1.0, dense=0.80)
    question = "Was sollte zu Organisation und Rollen geklärt sein, bevor wir starten?"
    ask = AskVector(question, kind_of(question), EMBEDDER.embed_queries([question])[0])
    composer = Composer(GeneratorSettings(unit_weights={"dense": 1.0}), TextAnalysis(UnitVectors(EMBEDDER), lambda: Analyzer()))
    text = composer.compose(GenerationRequest(question, "de", make_passages([support, roles]), [ask])).text
    assert text.startswith("Vor dem Start klären:") and "- Eskalationsweg geklärt" in text, text


def test_when_the_best_units_are_items_of_one_list_the_list_follows_the_best_one() -> None:
    data = ("Geobasisdaten:\n\n- Liegenschaftskataster (ALKIS) erfasst\n\n- Topographie (ATKIS) geprüft\n\n"
            "- Orthophotos mit Aufnahmejahr notiert\n\n- Open-Data-Status der Geobasisdaten des Landes geprüft")
    question = "Welche Geobasisdaten gehören in die Bestandsaufnahme?"
    assert kind_of(question) != "list"
    text = compose_from(data, ("Checkliste Daten", "3 Geobasisdaten"), question,
                        GeneratorSettings(unit_weights={"item": 1.0, "overlap": 1.0, "position": -0.1}))
    lines = text.split("\n")
    assert lines[0] == "Open-Data-Status der Geobasisdaten des Landes geprüft. [1]", text
    assert lines[1:] == ["Geobasisdaten: [1]", "- Liegenschaftskataster (ALKIS) erfasst [1]", "- Topographie (ATKIS) geprüft [1]",
                         "- Orthophotos mit Aufnahmejahr notiert [1]"], text
    assert not lint(text), lint(text)
    # with fewer best items than `gather`, the list is not given whole: the best item leads as a
    # sentence, and an item supporting it stays an item, without the list's header (items of
    # three words are too short to support)
    text = compose_from(data, ("Checkliste Daten", "3 Geobasisdaten"), question,
                        GeneratorSettings(gather=6, margin=10.0, max_sentences=6,
                                          unit_weights={"item": 1.0, "overlap": 1.0, "position": -0.1}))
    lines = text.split("\n")
    assert lines[0] == "Open-Data-Status der Geobasisdaten des Landes geprüft. [1]", text
    assert lines[1:] == ["- Orthophotos mit Aufnahmejahr notiert [1]"], text
    # an item that asks a question cannot lead as a sentence: then the list comes whole
    checks = data.replace("Open-Data-Status der Geobasisdaten des Landes geprüft",
                          "Geobasisdaten offen: Sind die Geobasisdaten des Landes offen?")
    text = compose_from(checks, ("Checkliste Daten", "3 Geobasisdaten"), question,
                        GeneratorSettings(unit_weights={"item": 1.0, "overlap": 1.0, "position": -0.1}))
    assert text.split("\n")[0] == "Geobasisdaten: [1]" and "- Geobasisdaten offen: Sind" in text and not lint(text), text


def test_an_item_that_asks_then_answers_is_quoted_without_its_question() -> None:
    item = ("Offene Punkte:\n\n- Kooperationsform: Reicht eine Vereinbarung auf Arbeitsebene, oder braucht es einen Zweckverband? "
            "Welche Form das Landesrecht vorsieht, ist im Einzelfall mit dem Rechtsamt zu prüfen.\n"
            "- Vergabe: Wird gemeinsam beschafft? Dann ist die Vergabestelle früh einzubinden.")
    text = compose_from(item, ("Vorlage Kooperation", "1 Offene Punkte"), "Welche Form der Zusammenarbeit ist rechtlich nötig?")
    first = text.split("\n")[0]
    assert first.startswith("Kooperationsform: Welche Form das Landesrecht vorsieht, ist im Einzelfall"), text
    assert not lint(text), lint(text)


def test_a_sentence_repeating_the_figures_already_said_is_not_said_again() -> None:
    text = ("Einzelne Kommunen erhalten im Programm TwinBy bis zu 50.000 €, interkommunale Vorhaben bis zu 75.000 €. "
            "Der bayerische Höchstbetrag lag allein bei 50.000 €, gemeinsam mit Nachbarn bei 75.000 €.")
    everything = GeneratorSettings(margin=10.0)  # any sentence may support the first
    answer = compose_from(text, ("Leitfaden Finanzierung", "4.3 TwinBy"), "Wie viel gibt TwinBy für interkommunale Vorhaben?", everything)
    assert len(answer.split("\n")) == 1 and answer.count("[1]") == 1, answer


def test_every_part_gets_its_direct_answer_before_any_part_gets_support() -> None:
    heat, privacy, (first, second) = _heat_and_privacy()
    filler = " ".join(f"Satz {n} über die Wärmeplanung nennt ausführlich Gebäude, Netze, Quartiere, Daten, Szenarien, "
                      "Fristen, Kosten, Zuständigkeiten und alle Beteiligten der planenden Kommune." for n in range(1, 9))
    heat = Hit(StoredChunk("w:1", heat.chunk.text + " " + filler, doc_id="w", title="W", section_path=("W", "3.3 Wärmeplanung")),
               1.2, dense=0.95)
    own = {"d:1": Hit(privacy.chunk, 2.0, dense=0.97), "w:1": Hit(heat.chunk, 0.5, dense=0.5)}  # the second part's search
    asks = [AskVector(q, kind_of(q), EMBEDDER.embed_queries([q])[0], found) for q, found in ((first, None), (second, own))]
    composer = Composer(GeneratorSettings(max_sentences=9, margin=10.0, unit_weights={"similarity": 1.0, "dense": 5.0}),
                        TextAnalysis(UnitVectors(EMBEDDER), lambda: Analyzer()))
    request = GenerationRequest(f"{first} {second}", "de", make_passages([heat, privacy]), asks)
    text = composer.compose(request).text
    assert text.startswith("Wärmepläne sind für Gemeinden bis zum 30.06.2028 fällig."), text
    assert "Der geschätzte Wärmebedarf auf Gebäudeebene ist ein personenbezogenes Datum." in text, text
    assert "Satz 1 über" in text and not lint(text), text  # the first part's support fills what room is left


def test_a_question_for_steps_gets_the_numbered_list() -> None:
    checks = Hit(StoredChunk("v:1", "Legen Sie zu Projektbeginn fest:\n\n- welche Kosten nach dem Start bleiben\n\n"
                             "- welche Rollen zum Start gebraucht werden\n\n- welche Daten zum Start gepflegt werden",
                             doc_id="v", title="V", section_path=("V", "8.2 Verstetigung von Anfang an")), 1.2, dense=0.95)
    path = Hit(StoredChunk("e:1", "Der Leitfaden empfiehlt einen Einführungspfad in drei Schritten:\n\n1. Ziel festlegen\n\n"
                           "2. Bestand aufnehmen\n\n3. Pilot umsetzen", doc_id="e", title="E", section_path=("E", "3.1 Überblick")),
               1.0, dense=0.80)
    question = "Wie fangen wir mit dem Start an?"
    ask = AskVector(question, kind_of(question), EMBEDDER.embed_queries([question])[0])
    composer = Composer(GeneratorSettings(unit_weights={"dense": 1.0}), TextAnalysis(UnitVectors(EMBEDDER), lambda: Analyzer()))
    text = composer.compose(GenerationRequest(question, "de", make_passages([checks, path]), [ask])).text
    assert text.startswith("Der Leitfaden empfiehlt einen Einführungspfad in drei Schritten:") and "- Pilot umsetzen" in text, text
    # asked for what to settle, not for steps, the better-scored list stays first
    question = "Was legen wir zum Start fest?"
    ask = AskVector(question, "list", EMBEDDER.embed_queries([question])[0])
    text = composer.compose(GenerationRequest(question, "de", make_passages([checks, path]), [ask])).text
    assert text.startswith("Legen Sie zu Projektbeginn fest:"), text


def test_a_template_block_asking_a_question_stays_verbatim() -> None:
    block = "Für die Auswertung:\n\n> Soll der Use Case dauerhaft betrieben werden? Zutreffendes ankreuzen: [ja/nein]"
    text = compose_from(block, ("Vorlage Projektsteckbrief", "2.14 Entscheidung"), "Gibt es einen Textbaustein für die Entscheidung?")
    assert text == "> Soll der Use Case dauerhaft betrieben werden? Zutreffendes ankreuzen: [ja/nein] [1]", text


def test_a_how_often_question_leads_with_the_frequency_not_a_date() -> None:
    """"Wie oft …" is a time question answered by "jährlich"; a sentence with a date does not fit it."""
    text = ("Das Gebäudemodell LoD2-DE ist seit 01.01.2017 als Open Data verfügbar. "
            "Das Gebäudemodell LoD2-DE wird jährlich aktualisiert.")
    settings = GeneratorSettings(margin=1.0, unit_weights={"form": 1.0, "position": -0.1})
    question = "Wie oft wird das Gebäudemodell aktualisiert?"
    assert kind_of(question) == "time"
    lines = compose_from(text, ("Leitfaden Betrieb", "5.2 LoD2 fortführen"), question, settings).split("\n")
    assert lines[0].startswith("Das Gebäudemodell LoD2-DE wird jährlich"), lines
    # "Wann …" still wants the date
    question = "Wann wurde das Gebäudemodell freigegeben?"
    lines = compose_from(text, ("Leitfaden Betrieb", "5.2 LoD2 fortführen"), question, settings).split("\n")
    assert lines[0].startswith("Das Gebäudemodell LoD2-DE ist seit"), lines
