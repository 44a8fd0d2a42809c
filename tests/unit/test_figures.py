"""The figures the citation check compares, in German and English."""

from __future__ import annotations

import pytest

from assistant.figures import counted, counts, figures, figures_agree

PASSAGE = ("Gefördert wurden bis zu 50.000 € je Kommune; das Projekt hatte ein Volumen von 979.860 €. "
           "Wärmepläne sind bis 30.06.2026 fällig.")


@pytest.mark.parametrize(
    ("sentence", "agrees"),
    [
        ("Bis zu 50.000 € je Kommune.", True),
        ("Up to €50,000 per municipality.", True),  # English thousands
        ("Heat plans are due by 30 June 2026.", True),  # a month name is its number
        ("Wärmepläne sind bis 30. Juni 2026 fällig.", True),
        ("Ein Volumen von knapp 980.000 €.", True),  # approximate, within 5 %
        ("Up to €60,000 per municipality.", False),
        ("Heat plans are due by 30 June 2027.", False),
        ("Ein Volumen von knapp 1,2 Mio. €.", False),
        ("Ein Volumen von 980.000 €.", False),  # stated as exact, but it is not
        ("You may apply; a municipality may get it.", True),  # "may" without a number is no month
    ],
)
def test_a_sentence_agrees_only_when_its_figures_are_in_the_passage(sentence: str, agrees: bool) -> None:
    assert figures_agree(sentence, PASSAGE) is agrees


def test_figures_are_normalised_alike() -> None:
    assert figures("216.000 € (bisher 221.000 €), seit 01.01.2026")[0] == figures("€216,000, down from €221,000, since 1 January 2026")[0]
    assert figures("rund 70 Teilnehmende") == (set(), {"70"})


@pytest.mark.parametrize(
    ("sentence", "source", "agrees"),
    [
        ("Die DSFA-Pflicht besteht ab drei Kriterien.", "Sind mindestens zwei Kriterien erfüllt, gilt die DSFA-Pflicht.", False),
        ("Lärmkarten entstehen im Dreijahresrhythmus.", "Lärmkarten entstehen im Fünfjahresrhythmus.", False),
        ("Noise maps follow a five-year cycle.", "Lärmkarten entstehen im Fünfjahresrhythmus.", True),
        ("Es gibt zwei Kriterien.", "Sind mindestens 2 Kriterien erfüllt, gilt die Pflicht.", True),
        # neither an article nor a word that merely starts like a number ("Achtung", "Viertel") is a figure
        ("Achtung: ein Viertel der Kommunen hat eine Strategie.", "Ein Viertel der Kommunen hat eine Strategie.", True),
    ],
)
def test_numbers_in_words_are_figures_too(sentence: str, source: str, agrees: bool) -> None:
    assert figures_agree(sentence, source) is agrees


@pytest.mark.parametrize(
    ("sentence", "agrees"),
    [
        # the passage holds a 3 (Art. 35 Abs. 3), but it counts the criteria with two
        ("Die DSFA-Pflicht besteht erst ab drei Kriterien.", False),
        ("Lärmkarten entstehen im Dreijahresrhythmus.", False),  # it counts the years with five
        ("Die DSFA-Pflicht besteht ab 2 Kriterien.", True),
        ("Eine DSFA nach Art. 35 Abs. 3 DSGVO ist bei zwei Kriterien Pflicht.", True),
        ("Lärmkarten entstehen alle fünf Jahre.", True),
        ("Es gibt 3 Sensoren.", True),  # what the passage does not count is left to the other checks
        ("Seit 2017 Open Data sind die Geobasisdaten in NRW.", True),  # the year of "01.01.2017 Open Data"
    ],
)
def test_a_number_must_count_what_the_passage_counts_with_it(sentence: str, agrees: bool) -> None:
    source = ("Eine DSFA ist nach Art. 35 Abs. 3 DSGVO nötig. Sind mindestens zwei Kriterien erfüllt, gilt die DSFA-Pflicht. "
              "Lärmkarten entstehen im Fünfjahresrhythmus. Seit dem 01.01.2017 Open Data sind die Geobasisdaten in NRW.")
    assert figures_agree(sentence, source) is agrees


def test_a_counted_figure_keeps_the_word_it_counts_and_a_norm_number_is_none() -> None:
    assert counted("Das Programm 436 fördert 73 Kommunen in drei Staffeln.") == {("73", "kommu"), ("3", "staff")}
    assert counted("Rund 57 Mio. Gebäude; 1.200 Sensoren") == {("57", "mio"), ("1200", "senso")}
    assert counted("Eine DSFA nach Art. 35 DSGVO, § 8 Abs. 2 GO, 65 % der Kosten, 50 € Gebühr") == set()
    assert counted("Gebühren ab 16.000 € an") == counted("gebührenpflichtig (ab 16.000 €)") == {("16000", "€")}


def test_counts_knows_which_words_a_text_gives_a_number_of() -> None:
    text = "Es nehmen 18 Kommunen aus 7 Bundesländern teil; gestartet wurde am 29.08.2025."
    assert counts(text, ["Kommunen"]) and counts(text, ["Bundesländer"])
    assert not counts(text, ["Personen"]) and not counts("Die Kommunen tauschen sich aus.", ["Kommunen"])
