"""What a question asks for, and its parts when it asks two things in one sentence.

Kinds: quantity (a number, an amount, a rate), time (a date or deadline), person (who), contact
(whom to ask), list (steps, roles, items, what to check), template (wording to copy), yes/no (a
decision, with its condition), definition, how (a way to do something) and any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["quantity", "time", "person", "contact", "list", "template", "yesno", "definition", "how", "any"]

# English "when" asks a time only as a question word ("When will …"), not as a conjunction
# ("When we take stock …, what …", "… when we buy software")
ASKS_WHEN = r"^\s*(?:and\s+)?when\s+(?:will|would|does|do|did|is|are|was|were|can|could|should|must|has|have|had|may)\b"
# a list of steps: how to start or proceed, in which steps, how something runs
_STEPS = (r"schritte?n?|in welchen schritten|wie läuft .{0,40}ab|steps|"
          r"wie (?:\w+ ){0,3}(?:anfangen|beginnen|starten|vorgehen)|wie (?:fangen|beginnen|starten) (?:wir|sie|ich)|"
          r"wie (?:gehen|gehe) (?:wir|sie|ich) .{0,30}vor|how (?:do|should|can) (?:we|i) (?:start|begin|proceed)")
_ASKS_STEPS = re.compile(rf"\b(?:{_STEPS})\b", re.I)
# how often: a time question answered by a frequency ("jährlich"), not a date
_HOW_OFTEN = r"wie oft|wie häufig|in welche[mn] (?:turnus|rhythmus|abstand|abständen)|how often"
_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    # "Vorlage"/"Muster" alone ask for wording; in a compound (Ratsvorlage, Vertragsmuster) they name a document
    ("template", re.compile(r"textbaustein|(?<![\w-])(?:baustein|vorlage|muster)(?![\w-])|muster(?:text|vorlage|formulierung|klausel)|"
                            r"textvorlage|formulier|wortlaut|beschlussvorschlag|steckbrief|"
                            r"was schreiben wir|wie schreib|\bwo trag\w* (?:ich|wir)\b.{0,60}\bein\b|"
                            r"\bwie halte[nt]? (?:ich|wir)\b.{0,60}\bfest\b|"
                            r"template|wording|phrase|boilerplate|draft", re.I)),
    ("contact", re.compile(r"ansprechpartner|ansprechstelle|an wen (?:wende|können|kann|sollen)|wer hilft|wer berät|"
                           r"wo (?:bekommen|erhalten|finden) wir (?:hilfe|auskunft|beratung|unterstützung)|anlaufstelle|"
                           r"who (?:can help|do we ask|to contact)|contact|whom (?:do|should|can) (?:we|i) (?:ask|turn to)", re.I)),
    ("time", re.compile(r"\b(wann|seit wann|bis wann|ab wann|in welchem jahr|welche[rsm]? (?:jahr|datum|frist|termin|zeitpunkt)|"
                        r"zu welchem zeitpunkt|"
                        rf"{_HOW_OFTEN}|wie lange|"
                        r"frist|what year|since when|from when|until when|deadline|how long)\b|"
                        + ASKS_WHEN, re.I)),
    ("quantity", re.compile(r"\b(wie ?viel(?:e[nmrs]?)?|wie hoch|wie gro(?:ß|ss)|wie teuer|was kostet|was kosten|"
                            r"welche[rnms]? (?:betrag|summe|quote|anteil|förderquote|höhe|wert|schwellenwert)|"
                            r"förderquote|how (?:many|much|high|large)|anzahl|prozent|quote|rate)\b", re.I)),
    ("list", re.compile(rf"\b({_STEPS}|rollen|punkte|prüfpunkte|checkliste|aufgaben|bestandteile|kriterien|"
                        r"was muss (?:in|alles)|was gehört (?:in|dazu)|welche .{0,40}(?:gibt es|braucht|nennt|sind)|"
                        r"abhaken|roles|items|checklist|"
                        r"was (?:sollten|müssen|sollen) (?:wir|ich) .{0,40}(?:prüfen|beachten|abhaken|klären)|"
                        r"what (?:must|should) (?:go|be) in|what (?:should|must|do) (?:we|i) check|"
                        r"which .{0,30}(?:are there|exist))\b", re.I)),
    ("person", re.compile(r"^\s*(?:und\s+)?(wer|who)\b", re.I)),
    ("definition", re.compile(r"^\s*(?:und\s+)?(was (?:ist|sind|bedeutet|heißt|versteht man unter)|what (?:is|are|does .* mean))\b", re.I)),
    ("yesno", re.compile(r"^\s*(?:und\s+)?(muss|müssen|brauch\w*|ist|sind|gibt es|darf|dürfen|kann|können|soll|sollen|"
                         r"lohnt|gilt|does|do|is|are|must|can|should|may)\b", re.I)),
    ("how", re.compile(r"\b(wie|how)\b", re.I)),
)
_ASK = r"(?:wer|wen|wem|was|wie|wann|wo|woher|wohin|welche\w*|warum|wieso|ob|bis wann|ab wann|seit wann|" \
       r"(?:an|mit|bei|von|für|über|auf|in|aus|zu|nach) (?:wen|wem|was|welche\w*)|" \
       r"müssen|muss|brauchen|braucht|gibt es|ist es|sind es|gilt|dürfen|darf|können|kann|sollen|soll|" \
       r"who|what|how|when|where|which|why|whether|do|does|is|are|must|can|should)"
_SPLIT = re.compile(rf"(?:,\s*|\s+)(?:und|sowie|oder|and|or)\s+(?={_ASK}\b)", re.I)
_MIN_PART_WORDS = 3


@dataclass(frozen=True)
class Ask:
    """One thing a question asks, and what kind of answer fits it."""

    text: str
    kind: Kind


def kind_of(text: str) -> Kind:
    """The first kind whose cue the text holds (template and contact cues win over the rest)."""
    return next((kind for kind, pattern in _PATTERNS if pattern.search(text)), "any")


_ASKS_FREQUENCY = re.compile(rf"\b(?:{_HOW_OFTEN})\b", re.I)


def asks_frequency(text: str) -> bool:
    """Does the text ask how often ("Wie oft …", "In welchem Turnus …")? (A time question, answered by "jährlich".)"""
    return bool(_ASKS_FREQUENCY.search(text))


def asks_steps(text: str) -> bool:
    """Does the text ask for steps in order ("Wie fangen wir an?", "Wie läuft eine DSFA ab?")?"""
    return bool(_ASKS_STEPS.search(text))


def parts(question: str) -> list[Ask]:
    """The question's parts: two asks joined by "und wer/und bis wann/…" become two, else one."""
    pieces = [p.strip(" ,;") for p in _SPLIT.split(question) if p.strip(" ,;")]
    if len(pieces) < 2 or any(len(p.split()) < _MIN_PART_WORDS for p in pieces):
        pieces = [question.strip()]
    return [Ask(p if p.endswith("?") or len(pieces) == 1 else p + "?", kind_of(p)) for p in pieces]


_ASKED = re.compile(
    r"\b(?:welche[rsnm]?|wie (?:hoch|groß|gross|lang|viele?n?)(?:\s+(?:ist|sind|war|waren))?(?:\s+(?:die|der|das|den))?|"
    r"was (?:ist|sind|kostet|bedeutet) (?:die|der|das|ein|eine)?|which|what)\s+([\w-]{3,})", re.I)


def asked_words(question: str) -> list[str]:
    """The words naming what is asked about: "Welche Förderquote …" -> ["Förderquote"]."""
    return [w for w in _ASKED.findall(question) if w.lower() not in {"gilt", "gibt", "ist", "sind", "muss", "kann", "the", "is", "are"}]


_HOW_MANY = re.compile(r"\b(?:wie ?viele?n?|how many)\b", re.I)


def counted_words(question: str) -> list[str]:
    """What a "how many" question counts: "Wie viele Kommunen …?" -> ["Kommunen"] (else none)."""
    return asked_words(question) if _HOW_MANY.search(question) else []
