"""Which language a question is in: German or English (German when unsure)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_GERMAN_HINTS = re.compile(
    r"[äöüß]|\b(der|die|das|und|ist|wie|was|wer|wann|welche[rsn]?|für|nicht|ich|wir|kann|muss|gibt|eine?[mnrs]?)\b", re.I
)
_ENGLISH_HINTS = re.compile(r"\b(the|and|is|are|what|who|when|which|how|does|do|can|should|must|for|of|to|in|a|an)\b", re.I)


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.GERMAN, Language.ENGLISH).build()


def detect_language(text: str, english_confidence: float = 0.6) -> str:
    """'de' or 'en'. Uses lingua; very short or mixed text falls back to word hints, then German."""
    german = len(_GERMAN_HINTS.findall(text))
    english = len(_ENGLISH_HINTS.findall(text))
    if german + english >= 3 and max(german, english) >= 2 * max(1, min(german, english)):
        return "de" if german > english else "en"
    from lingua import Language

    confidence = _detector().compute_language_confidence(text, Language.ENGLISH)
    return "en" if confidence > english_confidence else "de"
