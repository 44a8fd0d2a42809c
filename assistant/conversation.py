"""Follow-up questions: make a self-contained retrieval query from the conversation."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CUES = re.compile(
    r"^(und|aber|auch|dazu|dabei|dafür|davon|darüber|wie (?:ist|sieht) es|was ist mit|and|but|also|what about|how about)\b"
    r"|\b(dabei|dafür|davon|dazu|darin|darauf|dagegen|deren|dessen|diese[rsmn]?|dies|this|these|those|them)\b",
    re.I,
)


MAX_QUERY_CHARS = 600


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str = ""
    condensed: str = ""  # the retrieval query that was used for it


def condense(question: str, history: list[Turn] | tuple[Turn, ...], max_words: int = 8) -> str:
    """The query to retrieve with: a follow-up is joined with the previous question.

    Short questions or questions that point back ("Und wer…", "dabei", "What about…") take the
    previous turn's (condensed) question along, so its key terms reach the retrievers.
    """
    if not history:
        return question
    words = re.findall(r"\w+", question)
    if len(words) > max_words and not _CUES.search(question):
        return question
    previous = history[-1].condensed or history[-1].question
    return f"{question} {previous}"[:MAX_QUERY_CHARS]
