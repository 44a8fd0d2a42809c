"""The extractive composer: answers first, then cites (no language model).

For each part of a question it scores the units (sentences, list items, template blocks) of
the passages with the learned unit weights (assistant/reader.py): the best unit is the first
line, the next best support it. A later part never leads with what an earlier one said, and
every part's direct answer is placed before any part's support fills the word limit. A
list in the source comes whole, as a list (also when the best units are all items of one
list: then its best item leads); a template comes verbatim; a directory entry comes as a
contact. A few supporting sentences may follow, never a fragment, a question from the source,
a raw URL or a fact already said (that one gets its second citation instead).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.analysis import TextAnalysis
from assistant.figures import counts
from assistant.generation import AskVector, Draft, GenerationRequest
from assistant.hygiene import URL, WORD_LIMIT, points_back, same_fact, sentences_of, words
from assistant.passages import Passage, Unit
from assistant.question import asked_words, asks_steps, counted_words
from assistant.reader import Reader
from assistant.settings import GeneratorSettings
from ingest.chunking import split_sentences
from ingest.units import with_lead_ins

# a sentence that only points to another document ("Die Checkliste „…“ bildet diese Schritte ab") lists nothing itself
_POINTER = re.compile(r"\b(?:Checkliste|Leitfaden|Leitfadens|Vorlage|Verzeichnis)\s+„[^“]+“")
# an item's lead-in: "Modellprojekte Smart Cities (MPSC) …: 73 Kommunen …", "Personenbezug geprüft – Es ist …"
_LABEL = re.compile(r"^([^.:!?]{3,90}?)(?::|\s[–-])(?:\s|$)")
_FIGURE = re.compile(r"(?<![\w.])\d[\d.,]*(?!\w)")  # 65 %, 2018, 1,5 Mio. – not the 3 of "3D" or the 2 of "LoD2"
_CLOSED = re.compile(r"[.!?…\"“”»]$")
_WEB = re.compile(r"\b(?:Web|Internet|Link|URL)s?:\s*$", re.I)
LEAD = {
    "template": {"de": "Textbaustein aus „{title}“, {heading}:", "en": "Text block from “{title}”, {heading} (in German):"},
    "figure": {"de": "Laut „{heading}“: ", "en": "According to “{heading}”: "},
    "list": {"de": "Aus „{title}“, {heading}:", "en": "From “{title}”, {heading}:"},
}
NOTE_GERMAN = {"en": "Quoted in German from the guides."}


@dataclass(frozen=True)
class Scored:
    passage: Passage
    unit: Unit
    score: float  # how well it answers the question's part (assistant/reader.py)
    text: str  # the unit as it may be shown (URLs removed)


@dataclass
class Line:
    """One line of the answer: text, the passages it cites, and how it is shown."""

    text: str
    cites: list[int]
    style: str = "sentence"  # sentence | header | item | block | contact
    extra: dict[str, str] = field(default_factory=dict)

    def render(self) -> str:
        marks = "".join(f"[{n}]" for n in dict.fromkeys(self.cites))
        prefix = {"item": "- ", "block": "> "}.get(self.style, "")
        return f"{prefix}{self.text} {marks}".rstrip()


@dataclass
class Part:
    """The answer to one part of the question: its lines, a template's lead-in, and for a brief
    part its supporting sentences, given everything the answer says (`support`)."""

    lines: list[Line]
    lead: str = ""
    support: Callable[[list[Line]], list[Line]] | None = None


@lru_cache(maxsize=8192)  # every question's units, again and again
def shown(text: str) -> str:
    """A unit's text without URLs (links belong to the citation and the source view)."""
    text = URL.sub("", text)
    text = re.sub(r"\(\s*[,;]?\s*\)|\s+,(?=[\s,.]|$)|,\s*(?=[.;])", "", text)
    text = re.sub(r"\s*\b(?:Web|Internet|Link|URL)s?:\s*[,;.]?\s*$", "", text)
    return " ".join(text.split()).strip(" ,;")


@lru_cache(maxsize=8192)
def stated(text: str) -> str:
    """A unit's statements without the questions it answers ("Braucht die Kommune …? Ein Dokument
    namens … ist nicht belegt." -> the second sentence); its lead-in ("Kooperationsform: …") stays."""
    sentences = split_sentences(text)
    if not any(s.endswith("?") for s in sentences):
        return text
    # a label stays unless the question it introduces goes: "A: B?" -> nothing of "A:" (but the first)
    kept = [s for i, s in enumerate(sentences) if not s.endswith("?") and not (
        s.endswith(":") and i > 0 and (i + 1 == len(sentences) or sentences[i + 1].endswith("?")))]
    if all(s.endswith(":") for s in kept):
        return text
    label = _LABEL.match(sentences[0]) if sentences[0].endswith("?") else None
    return (f"{label.group(1)}: " if label else "") + " ".join(kept)


def _lead_in(kind: str, language: str, **fields: str) -> str:
    """A lead-in (LEAD) in the answer's language, German for any other."""
    return LEAD[kind][language if language in ("de", "en") else "de"].format(**fields)


def _heading(passage: Passage) -> str:
    """A passage's own heading without its number ("3.2 Zentrale Rollen" -> "Zentrale Rollen")."""
    path = passage.hit.chunk.section_path
    return re.sub(r"^[0-9.]+\s+", "", path[-1]) if path else ""


def closed(text: str) -> str:
    """A text shown as a sentence ends as one (a clause cut at ";" or an item gets its full stop)."""
    return text if _CLOSED.search(text) else text + "."


def speakable(unit: Unit, text: str) -> bool:
    """May this unit stand as a sentence of an answer? (No question, no bare header, no link line.)"""
    if len(text.split()) < 4 or "?" in text or _WEB.search(unit.text[: len(unit.text) // 2 + 1]):
        return False
    return unit.kind != "sentence" or not text.endswith((":", ",", ";"))


@lru_cache(maxsize=8192)
def _pieces(text: str) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
    """A text's sentences, its clauses of six words or more, and its figures."""
    return (tuple(sentences_of(text) or [text]), tuple(c for c in re.split(r";\s|\s–\s", text) if len(c.split()) >= 6),
            frozenset(_FIGURE.findall(text)))


def _near(a: str, b: str) -> bool:
    """Does `b` state a fact `a` already states? (As the hygiene check sees it, sentence by
    sentence, or one clause of six words or more in common, or `b`'s two or more figures all
    given in `a` already: "bis zu 50.000 € … 75.000 €" in other words.)"""
    (sa, ca, fa), (sb, cb, fb) = _pieces(a), _pieces(b)
    return ((len(fb) >= 2 and fb <= fa) or same_fact(a, b)
            or any(same_fact(x, y) for x in sa for y in sb) or any(same_fact(x, y) for x in ca for y in cb))


class Composer:
    """Writes the extractive answer: the asked-for fact first, lists whole, templates verbatim."""

    def __init__(self, settings: GeneratorSettings, analysis: TextAnalysis) -> None:
        self.settings = settings
        self.analysis = analysis
        self.reader = Reader(analysis, settings.unit_weights)

    def score(self, ask: AskVector, passages: Sequence[Passage]) -> list[Scored]:
        """Every unit of the passages, scored for one part of the question, best first."""
        units = self.reader.units(ask, passages)
        scores = zip(units.pairs, self.reader.score(units), strict=True)
        return sorted((Scored(p, u, float(s), shown(u.text) if u.kind == "block" else stated(shown(u.text)))  # a block is verbatim
                       for (p, u), s in scores), key=lambda c: -c.score)

    def compose(self, request: GenerationRequest) -> Draft:
        lead = ""
        brief = len(request.asks) > 1  # every part's direct answer first, then the support that still fits
        most = self.settings.max_sentences if not brief else max(1, self.settings.max_sentences - 1)
        answers: list[Part] = []
        for ask in request.asks:
            part = self.answer_ask(ask, request.passages, request.language, [li for a in answers for li in a.lines], most, brief)
            if part.lead and not lead:  # the template comes first, right under its lead-in
                lead = part.lead
                answers.insert(0, part)
            else:
                answers.append(part)
        for k, part in enumerate(answers):
            if part.support is not None and part.lines:
                part.lines += part.support([li for j, a in enumerate(answers) if j != k for li in a.lines] + part.lines)
        lines = [li for a in answers for li in a.lines]
        if not lines:
            return Draft("", refused=True)
        lead = lead or self._list_source(lines[0], request.passages, request.language)
        text = "\n".join(line.render() for line in lines)
        notes = [NOTE_GERMAN[request.language]] if request.language in NOTE_GERMAN else []
        return Draft(text, lead=lead, notes=notes)

    @staticmethod
    def _list_source(first: Line, passages: Sequence[Passage], language: str) -> str:
        """An answer that starts with a list without its own header line names where the list
        stands ("Aus „Checkliste Übergang in den Regelbetrieb“, 3 Organisation und Personal:")."""
        chunk = next((p.hit.chunk for p in passages if first.cites and p.n == first.cites[0]), None)
        if first.style != "item" or chunk is None or not chunk.section_path:
            return ""
        return _lead_in("list", language, title=chunk.title, heading=chunk.section_path[-1])

    def answer_ask(self, ask: AskVector, passages: Sequence[Passage], language: str, said: list[Line],
                   most: int, brief: bool = False) -> Part:
        """The lines answering one part of the question (and a lead-in, for templates). A brief
        part gives its direct answer only, and the supporting sentences later, from `support`."""
        scored = self.score(ask, passages)
        if not scored:
            return Part([])
        if ask.kind == "template":
            block = next((c for c in scored if c.unit.kind == "block"), None)
            if block is not None:
                chunk = block.passage.hit.chunk
                return Part([Line(block.text, [block.passage.n], "block")],
                            _lead_in("template", language, title=chunk.title, heading=chunk.section_path[-1]))
        if ask.kind == "contact":
            entry = next((c for c in scored if c.passage.hit.chunk.doc_type == "verzeichnis" and speakable(c.unit, c.text)), None)
            if entry is not None:
                return Part(self._new(self.contact(entry), said))
        eligible = [c for c in scored if (c.unit.kind == "item" or speakable(c.unit, c.text) or self._header(c))
                    and not (ask.kind == "list" and _POINTER.search(c.text))]
        if not eligible:
            return Part([])
        fresh = [c for c in eligible if not any(_near(line.text, c.text) for line in said)]
        counting = self._counting(ask, fresh)
        best = counting or (fresh[0] if fresh else eligible[0])
        anchor = self._list_anchor(eligible[0] if self._header(eligible[0]) else best, ask, scored)
        gathered = ask.kind != "list" and not self._header(anchor) and self._gathered(best, eligible)
        listed = self.whole_list(anchor) if self._header(anchor) or ask.kind == "list" or gathered else []
        if gathered and speakable(best.unit, lead := self._focus(best, ask.text)):  # the best item answers, its list follows
            listed = [Line(closed(lead), [best.passage.n])] + [li for li in listed if li.text != shown(best.unit.text)]
        listed = self._unsaid(listed, said)
        if listed:
            return Part(listed)
        top = (counting or eligible[0]).score  # a count leads: what supports it is judged against it
        if not brief:
            return Part(self.sentences(best, scored, ask.text, language, said, most, top))

        def support(everything: list[Line]) -> list[Line]:
            return self.sentences(best, scored, ask.text, language, everything, most, top, first=False)

        return Part(self.sentences(best, scored, ask.text, language, said, 1, top), support=support)

    def _counting(self, ask: AskVector, candidates: list[Scored]) -> Scored | None:
        """For "Wie viele Kommunen …?": the best unit within the margin that gives a number of
        them ("… starteten 18 Kommunen aus 7 Bundesländern …"), unless the best one names them
        and gives a figure."""
        nouns = counted_words(ask.text)
        if not nouns or not candidates:
            return None
        first = candidates[0].text  # it may give the count in its own way: "führte bei den Tackles (118)"
        if _FIGURE.search(first) and self.analysis.word_stems(first) & self.analysis.word_stems(" ".join(nouns)):
            return None
        top = candidates[0].score - self.settings.margin
        return next((c for c in candidates if c.score >= top and speakable(c.unit, c.text) and counts(c.text, nouns)), None)

    def _list_anchor(self, best: Scored, ask: AskVector, scored: list[Scored]) -> Scored:
        """Where the answer's list is: the best unit when it introduces a list or no list is asked
        for; else the list whose best three items score highest on average (a list answers as a
        whole, not by one item). A list under a heading naming what is asked as a word of its
        own ("Welche Rollen …" – "3.2 Zentrale Rollen", not "Welche Kriterien …" –
        "Bewertungskriterien"), or under a heading the question names whole ("Was sollte zu
        Organisation und Rollen geklärt sein?" – "3 Organisation und Rollen"), or numbered when
        steps are asked for, comes first, even before a best unit that introduces another list."""
        if ask.kind != "list":
            return best
        asked = self.analysis.word_stems(" ".join(asked_words(ask.text)))
        lists: dict[tuple[int, int], list[Scored]] = {}
        for c in scored:
            if c.unit.kind == "item":
                lists.setdefault((c.passage.n, self._list_start(c)), []).append(c)
        if not lists:
            return best

        def mean3(items: list[Scored]) -> float:
            return sum(c.score for c in items[:3]) / min(3, len(items))

        question = self.analysis.word_stems(ask.text)

        def named(items: list[Scored]) -> bool:
            heading = self.analysis.word_stems(_heading(items[0].passage))
            return bool(asked & heading) or (bool(heading) and heading <= question)

        steps = asks_steps(ask.text)

        def ordered(items: list[Scored]) -> bool:  # steps are asked for, and the list numbers them
            return steps and items[0].unit.numbered

        items = max(lists.values(), key=lambda items: (named(items), ordered(items), mean3(items)))
        if named(items) or ordered(items) or not self._header(best):
            return items[0]
        return best

    def _gathered(self, best: Scored, eligible: list[Scored]) -> bool:
        """Are the best units all items of one list? (Then the list answers, not its items one by one.)"""
        start, top = self._list_start(best), eligible[: self.settings.gather]
        return best.unit.kind == "item" and len(top) == self.settings.gather and all(
            c.unit.kind == "item" and c.passage is best.passage and self._list_start(c) == start for c in top)

    @staticmethod
    def _list_start(c: Scored) -> int:
        units, i = c.passage.units, c.unit.position
        while i > 0 and units[i - 1].kind == "item":
            i -= 1
        return i

    @staticmethod
    def _header(c: Scored) -> bool:
        units, i = c.passage.units, c.unit.position
        return c.unit.kind == "sentence" and c.text.endswith(":") and i + 1 < len(units) and units[i + 1].kind == "item"

    def whole_list(self, source: Scored) -> list[Line]:
        """The list `source` belongs to (or introduces), whole, with its header sentence."""
        if not (source.unit.kind == "item" or self._header(source)):
            return []
        units = source.passage.units
        start = source.unit.position + 1 if self._header(source) else self._list_start(source)
        end = start
        while end < len(units) and units[end].kind == "item":
            end += 1
        n = source.passage.n
        header = units[start - 1] if start > 0 and shown(units[start - 1].text).endswith(":") else None
        lines = [Line(shown(header.text), [n], "header")] if header is not None else []
        items = [shown(u.text) for u in units[start:end][: self.settings.max_items]]
        return lines + [Line(t, [n], "item") for t in items if t]

    @staticmethod
    def _new(lines: list[Line], said: list[Line]) -> list[Line]:
        """The lines an earlier part did not say already (the line that did gets their citation)."""
        fresh: list[Line] = []
        for line in lines:
            twin = next((s for s in said if _near(s.text, line.text)), None) if line.style != "header" else None
            if twin is None:
                fresh.append(line)
            else:
                twin.cites.extend(line.cites)
        return fresh

    def _unsaid(self, listed: list[Line], said: list[Line]) -> list[Line]:
        """A list for a later part of the question without the items an earlier part already
        gave; none at all when fewer than two items are new."""
        fresh = self._new(listed, said)
        return fresh if sum(line.style == "item" for line in fresh) >= 2 else []

    def contact(self, entry: Scored) -> list[Line]:
        """A directory entry as a contact: the office (its heading), what it is for (the entry's
        first sentence) and the matching sentence, if another; its links go with the citation."""
        passage = entry.passage
        office = _heading(passage)
        first = next((shown(u.text) for u in passage.units if speakable(u, shown(u.text))), entry.text)
        lines = [Line(f"**{office}** – {first}", [passage.n], "contact", {"links": " ".join(URL.findall(passage.hit.chunk.text))})]
        if entry.text != first:
            lines.append(Line(entry.text, [passage.n]))
        return lines

    def sentences(self, best: Scored, scored: list[Scored], ask: str, language: str, said: list[Line], most: int,
                  top: float, first: bool = True) -> list[Line]:
        """The direct answer first, then supporting sentences whose score is within `margin` of
        the best one's (`top`); only the supporting ones when `first` is off (the direct answer
        already stands in `said`)."""
        chosen: list[Line] = []
        sources: list[Scored] = []
        budget = WORD_LIMIT - sum(words(line.text) for line in said)
        room = most if first else most - 1
        floor = top - self.settings.margin
        window = {(c.passage.n, c.unit.position) for c in scored if c.score >= floor}
        for c in ([best] if first else []) + [c for c in scored if c is not best]:
            if len(chosen) >= room or (c is not best and c.score < floor):
                break
            if not speakable(c.unit, c.text) or c.unit.kind == "block":
                continue
            text = self._focus(c, ask) if c.unit.kind == "item" else c.text
            twin = next((line for line in said + chosen if _near(line.text, text)), None)
            if twin is not None:
                twin.cites.append(c.passage.n)
                if c is best:  # this part's answer was already given (for an earlier part)
                    return []
                continue
            leading = first and not chosen
            if not leading and self._dangling(c, text, said + chosen, window):
                continue
            text = self._named(c, self._introduced(c, self._resolved(c, text)), ask, language) if leading else text
            if (chosen or said) and words(text) > budget:
                continue
            as_item = c.unit.kind == "item" and not leading  # "Pflege der Metadaten" supports as an item, not as a sentence
            chosen.append(Line(text, [c.passage.n], "item") if as_item else Line(closed(text), [c.passage.n]))
            sources.append(c)
            budget -= words(text)
        kept = [i for i, c in enumerate(sources) if (i == 0 and first) or not self._dangling(c, chosen[i].text, said + chosen, set())]
        return self._in_reading_order([chosen[i] for i in kept], [sources[i] for i in kept], first)

    def _introduced(self, c: Scored, text: str) -> str:
        """An item that is no sentence of its own ("fachliche Verantwortung für …") said after its
        list's header ("Typische Aufgaben des Data Owner: fachliche Verantwortung für …")."""
        if c.unit.kind != "item" or not text[:1].islower() or (start := self._list_start(c)) == 0:
            return text
        header = c.passage.units[start - 1]
        if header.kind != "sentence" or not header.text.rstrip().endswith(":"):
            return text
        return f"{stated(shown(header.text))} {text}"

    @staticmethod
    def _antecedent(c: Scored, text: str) -> Unit | None:
        """The unit before a sentence whose subject points back ("Er umfasst …", "Sie wurde …")."""
        i = c.unit.position
        return c.passage.units[i - 1] if c.unit.kind == "sentence" and i > 0 and points_back(text) else None

    def _resolved(self, c: Scored, text: str) -> str:
        """A direct answer pointing back ("Sie wurde am 08.10.2024 veröffentlicht …") comes after
        the sentence it points to ("DIN hat mit der DIN SPEC 91607 … herausgegeben.")."""
        unit = self._antecedent(c, text)
        if unit is None or unit.kind != "sentence":
            return text
        before = stated(shown(unit.text))
        return f"{closed(before)} {text}" if speakable(unit, before) else text

    def _dangling(self, c: Scored, text: str, said: list[Line], coming: set[tuple[int, int]]) -> bool:
        """Does a supporting sentence point back to the sentence before it, which the answer
        neither gives nor may still give (`coming`)?"""
        unit = self._antecedent(c, text)
        if unit is None or (c.passage.n, unit.position) in coming:
            return False
        before = stated(shown(unit.text))
        return not any(_near(line.text, before) for line in said)

    @staticmethod
    def _in_reading_order(lines: list[Line], sources: list[Scored], first: bool) -> list[Line]:
        """The direct answer first (when `first`); the support after it grouped by passage, the
        direct answer's and then the best-scored first, and in the source's order within one
        passage ("Zuerst sehen Sie …", then "Ist sie nicht aufgeführt, …")."""
        rank = {n: i for i, n in enumerate(dict.fromkeys(c.passage.n for c in sources))}  # `sources` come best first
        head = 1 if first else 0
        rest = sorted(range(head, len(lines)), key=lambda i: (rank[sources[i].passage.n], sources[i].unit.position))
        return lines[:head] + [lines[i] for i in rest]

    def _focus(self, c: Scored, ask: str) -> str:
        """Of a list item with several sentences, the one that holds most of the question's terms
        (and the asked-for kind of fact); the item's lead-in ("MPSC: …") stays in front of it."""
        sentences = with_lead_ins(split_sentences(c.text))  # "Nordrhein-Westfalen: Die Geobasisdaten …" is one
        if len(sentences) < 2:
            return c.text
        terms = set(self.analysis.terms(ask))
        asked = set(self.analysis.terms(" ".join(asked_words(ask))))

        def weight(sentence: str) -> float:
            own = set(self.analysis.terms(sentence))
            return 3 * len(asked & own) + len(terms & own) + 0.5 * bool(re.search(r"\d", sentence))

        best = max(sentences, key=weight)
        if best is sentences[0]:
            return c.text
        label = _LABEL.match(sentences[0])
        return f"{label.group(1)}: {best}" if label else best

    def _named(self, c: Scored, text: str, ask: str, language: str) -> str:
        """A figure is quoted with the section it comes from, unless the sentence itself names
        what it is about: the question's subject (its terms but the asked-for word: "Welche
        Förderquote gilt für MPSC?" -> MPSC), the section's own subject, or its own lead-in."""
        heading = _heading(c.passage)
        own = set(self.analysis.terms(text))
        terms = set(self.analysis.terms(ask))
        subject = (terms - set(self.analysis.terms(" ".join(asked_words(ask))))) or terms
        if not heading or not _FIGURE.search(text) or _LABEL.match(text) or own & (subject | set(self.analysis.terms(heading))):
            return text
        return _lead_in("figure", language, heading=heading) + text


class ExtractiveGenerator:
    """The default generator: the composer, no model needed."""

    name = "extractive"

    def __init__(self, settings: GeneratorSettings, analysis: TextAnalysis) -> None:
        self.composer = Composer(settings, analysis)

    def generate(self, request: GenerationRequest) -> Draft:
        return self.composer.compose(request)

    def stream(self, request: GenerationRequest) -> Iterator[str | Draft]:
        draft = self.generate(request)
        yield from re.split(r"(?<=\])(?=\s)", draft.text)
        yield draft
