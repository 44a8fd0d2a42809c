"""Follow-up questions: decide from evidence whether a question continues the previous turn, and
if so make a self-contained retrieval query from the conversation.

Evidence: pointing back (pronouns, "und …", "what about …") and ellipsis (a question of a few
words), how similar the question is to the previous one, and how well it retrieves on its own
compared with the merged query. A logistic model whose weights and threshold the tuning
script writes into the preset decides; the question's own words never get dropped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from assistant.settings import ConversationSettings

_OPENERS = re.compile(
    r"^\s*(und|aber|auch|also|dann|sonst|bzw|und was|was ist mit|wie (?:ist|sieht) es (?:mit|bei|aus)|"
    r"and|but|also|then|what about|how about|and what|what if)\b", re.I)
_POINTERS = re.compile(
    r"\b(dabei|dafür|davon|dazu|darin|darauf|dagegen|damit|darüber|hierzu|hierfür|deren|dessen|diese[rsmn]?|dies|dann|"
    r"so (?:etwas|was|jemand\w*|eine?[nmrs]?)|das(?=(?:\s+\w+)?\s*[?.!])|die(?=(?:\s+\w+)?\s*[?.!])|"
    r"sie(?=\s*[?.!])|es(?=\s*[?.!])|dort|da|"
    r"this|these|those|them|it|they|that|there|such)\b", re.I)
_NOUN = re.compile(r"(?<=\s)[A-ZÄÖÜ][\w-]*")
_WORDS = re.compile(r"[^\W\d_]{3,}", re.U)

FEATURES = ("opener", "pointer", "short", "topic", "similarity", "alone_top", "gain")


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str = ""
    condensed: str = ""  # the retrieval query that was used for it


@dataclass(frozen=True)
class FollowUp:
    follow_up: bool
    confidence: float
    features: dict[str, float]


def merged_query(question: str, previous: Turn, max_chars: int = 600) -> str:
    """The question with the previous turn's (condensed) question, for retrieval."""
    return f"{question} {previous.condensed or previous.question}"[:max_chars]


def cue_features(question: str) -> dict[str, float]:
    words = _WORDS.findall(question)
    return {
        "opener": float(bool(_OPENERS.search(question))),
        "pointer": float(bool(_POINTERS.search(question))),
        "short": float(len(words) <= 4),
        "topic": min(len(_NOUN.findall(question)), 3) / 3,  # German nouns name a topic of their own
    }


class FollowUpDetector:
    """Follow-up or new question, from the cues and from what retrieval says."""

    def __init__(self, settings: ConversationSettings) -> None:
        self.settings = settings

    @staticmethod
    def features(question: str, similarity: float, alone_top: float, merged_top: float) -> dict[str, float]:
        """`similarity`: cosine of question and previous question; `alone_top`/`merged_top`: the
        best dense cosine of the question on its own and of the merged query."""
        return cue_features(question) | {"similarity": similarity, "alone_top": alone_top, "gain": merged_top - alone_top}

    def decide(self, values: dict[str, float]) -> FollowUp:
        s = self.settings
        z = s.bias + sum(w * values.get(f, 0.0) for f, w in s.weights.items())
        p = 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))
        return FollowUp(p >= s.threshold, p, values)
