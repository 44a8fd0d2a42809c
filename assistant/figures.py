"""The figures a sentence states, read alike in German and English, so that an answer
sentence can be held against its passage ("€50,000" is "50.000 €", "30 June 2026" is
"30.06.2026", "knapp 980.000 €" is about 979.860 €).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache

_MONTHS = {
    "januar": 1, "january": 1, "februar": 2, "february": 2, "märz": 3, "march": 3, "april": 4, "mai": 5, "may": 5,
    "juni": 6, "june": 6, "juli": 7, "july": 7, "august": 8, "september": 9, "oktober": 10, "october": 10,
    "november": 11, "dezember": 12, "december": 12,
}
_MONTH = "|".join(_MONTHS)
# a month name next to a day or a year ("30 June 2026", "June 30", "Juni 2026"); "may" alone is a verb
_DATE_WORD = re.compile(rf"(?<=\d)\.?\s+({_MONTH})\b|\b({_MONTH})\s+(?=\d)", re.I)
_APPROX = re.compile(
    r"\b(?:knapp|rund|etwa|ca\.|circa|ungefähr|fast|about|around|approximately|nearly|almost|roughly)\s+(?:€\s*)?(\d[\d.,]*)", re.I
)
_THOUSANDS = re.compile(r"(?<=\d)[.,\u202f ](?=\d{3}\b)")
_WORDS = {
    "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11,
    "zwölf": 12, "zwanzig": 20, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20,
}
# a number in words, alone or leading a compound of time or parts ("Fünfjahresrhythmus", "three-year", "zweistufig");
# "ein"/"one" are articles as often as numbers
_NUMBER_WORD = re.compile(
    rf"\b({'|'.join(_WORDS)})(?:-?(?:jahres|jährig|jährlich|monat\w*|wöchig|tägig|stufig|teilig|fach|mal|year|month|week|day|step|stage|part|fold)\w*)?\b",
    re.I,
)


# a figure and the word it counts or dates ("73 Kommunen", "drei Staffeln", "05.10.2017 verbindlich")
_COUNTED = re.compile(
    rf"(?<![\w.,/])(\d[\d.,/]*\d|\d|{'|'.join(_WORDS)})\.?\s+"
    r"(?:(?:der|die|das|den|dem|des|ein|eine|einen|einem|the|a|an)\s+)?([A-Za-zÄÖÜäöüß]{3,})",
    re.I,
)
# a number that names a norm, a part or a programme rather than counting ("Art. 35 DSGVO", "Programm 436")
_NAMING = re.compile(r"(?:\b(?:Art|Abs|Nr|Ziff|Programm|Kapitel|Abschnitt|Schritt|Version|Anlage)\.?|§)\s*$", re.I)
# an amount of money large enough to name one thing ("ab 16.000 €", "rund 4 Mio. €"), not "50 €"
_AMOUNT = re.compile(r"(?<![\w.,])(\d{1,3}(?:[.\u202f ]\d{3})+|\d{4,}|\d+(?:,\d+)?\s?(?:Mio|Mrd)\.?)\s?(?:€|Euro\b|EUR\b)")


def _figure_words(text: str) -> Iterator[tuple[str, str, str]]:
    """Each figure that counts or dates a word, normalised, with the word's stem and the word
    ("drei Staffeln" is ("3", "staff", "Staffeln")); a norm or programme number is none."""
    for m in _COUNTED.finditer(text):
        if not _NAMING.search(text[: m.start()]):
            yield str(_WORDS.get(m[1].lower(), _THOUSANDS.sub("", m[1]))), m[2].lower()[:5], m[2]


def counted(text: str) -> frozenset[tuple[str, str]]:
    """The figures of a text with the word each counts or dates, and its amounts of money,
    normalised ("drei Staffeln" is ("3", "staff"), "16.000 €" is ("16000", "€")): two sentences
    sharing one state the same fact, whatever else they say."""
    words = {(number, stem) for number, stem, _ in _figure_words(text)}
    return frozenset(words | {(re.sub(r"[.\u202f ]", "", m.lower()), "€") for m in _AMOUNT.findall(text)})


def counts(text: str, words: Iterable[str]) -> bool:
    """Does the text give a number of one of these words? ("18 Kommunen aus 7 Bundesländern" counts "Kommunen".)"""
    stems = {w.lower()[:5] for w in words}
    return any(word in stems for _, word in counted(text))


def _numbers(text: str) -> list[str]:
    return [n.lstrip("0") or "0" for n in re.findall(r"\d+", text)]


@lru_cache(maxsize=4096)
def figures(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(exact, approximate) numbers a text states, normalised: '216.000 €' and '€216,000' are
    '216000', '01.01.2026' and '1 January 2026' are 1, 1, 2026; "knapp 980.000" is approximate."""
    joined = _THOUSANDS.sub("", text)
    joined = _DATE_WORD.sub(lambda m: f" {_MONTHS[(m.group(1) or m.group(2)).lower()]} ", joined)
    joined = _NUMBER_WORD.sub(lambda m: f" {_WORDS[m.group(1).lower()]} ", joined)
    approx = {n for m in _APPROX.finditer(joined) for n in _numbers(m.group(1))}
    return frozenset(_numbers(joined)) - approx, frozenset(approx)


@lru_cache(maxsize=4096)
def _counts_of(text: str) -> Mapping[str, frozenset[str]]:
    """What a text counts, by noun, and with which numbers (in parts, so that "2017" agrees with
    "01.01.2017"): "drei Kriterien" gives {"krite": {"3"}}, "im Fünfjahresrhythmus" {"jahre": {"5"}}."""
    out: dict[str, set[str]] = {}
    for number, word in _noun_counts(text):
        out.setdefault(word, set()).update(_numbers(number))
    return {word: frozenset(numbers) for word, numbers in out.items()}


def _noun_counts(text: str) -> Iterable[tuple[str, str]]:
    yield from ((number, stem) for number, stem, word in _figure_words(text) if word[:1].isupper())
    for m in _NUMBER_WORD.finditer(text):
        if len(m[0]) > len(m[1]):  # a compound: "Dreijahresrhythmus", "zweistufig"
            yield str(_WORDS[m[1].lower()]), m[0][len(m[1]):].lstrip("-").lower()[:5]


def figures_agree(sentence: str, source: str) -> bool:
    """Every exact figure of the sentence is in the source, and where the source counts the
    same thing, with the same number ("drei Kriterien" against "zwei Kriterien" disagrees,
    though a 3 stands elsewhere); an approximate figure is within 5 % of one there."""
    exact, approx = figures(sentence)
    known = set().union(*figures(source))
    values = [int(n) for n in known if len(n) < 16]
    theirs = _counts_of(source)
    clash = any(word in theirs and not numbers & theirs[word] for word, numbers in _counts_of(sentence).items())
    return exact <= known and not clash and all(any(abs(int(a) - v) <= 0.05 * v for v in values) for a in approx if len(a) < 16)
