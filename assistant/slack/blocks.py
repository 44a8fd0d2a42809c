"""Block Kit rendering of answers, within Slack's limits (3,000 characters a section, 50 blocks)."""

from __future__ import annotations

import re
from typing import Any

SECTION_LIMIT = 2900
BLOCKS_PER_MESSAGE = 45

LABELS = {
    "de": {"sources": "Quellen", "closest": "Nächstliegende Quellen", "page": "S.", "up": "Hilfreich",
           "down": "Nicht hilfreich", "share": "Im Kanal teilen", "searching": "Lotse sucht in den Leitfäden …",
           "thanks": "Danke für Ihre Rückmeldung!", "shared": "Die Antwort wurde im Kanal geteilt.",
           "sorry": "Entschuldigung, da ist etwas schiefgelaufen. Bitte versuchen Sie es später noch einmal.",
           "empty": "Bitte stellen Sie eine Frage, z. B. `/lotse Wann brauche ich eine DSFA?`"},
    "en": {"sources": "Sources", "closest": "Closest sources", "page": "p.", "up": "Helpful",
           "down": "Not helpful", "share": "Share in channel", "searching": "Lotse is searching the guides …",
           "thanks": "Thanks for your feedback!", "shared": "The answer was shared in the channel.",
           "sorry": "Sorry, something went wrong. Please try again later.",
           "empty": "Please ask a question, e.g. `/lotse When do I need a DPIA?`"},
}

HELP = (
    "*Lotse* beantwortet Fragen zu kommunalen Digitalen Zwillingen aus den Leitfäden, Checklisten, "
    "Vorlagen und Sitzungsnotizen des Programms – mit Quellenangabe.\n\n"
    "• Im Kanal: `@Lotse Ihre Frage` – die Antwort kommt im Thread; Folgefragen einfach im Thread stellen.\n"
    "• Direktnachricht an Lotse: einfach fragen.\n"
    "• `/lotse Ihre Frage` – Antwort nur für Sie, mit Knopf „Im Kanal teilen“.\n"
    "• 👍/👎 unter jeder Antwort helfen, die Leitfäden zu verbessern.\n\n"
    "_English questions are answered in English._"
)


def labels(language: str) -> dict[str, str]:
    return LABELS["en" if language == "en" else "de"]


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str) -> str:
    """Answer text as Slack mrkdwn: list items become bullets, **bold** *bold*, and a template
    block a code block (copyable in Slack as it stands)."""
    lines: list[str] = []
    in_template = False
    for line in escape(text).split("\n"):
        template = line.startswith("&gt; ")
        if template and not in_template:
            lines.append("```")
        elif in_template and not template:
            lines.append("```")
        in_template = template
        if template:
            line = re.sub(r"\s*\[\d+\]$", "", line[5:])
        elif line.startswith("- "):
            line = "• " + line[2:]
        lines.append(re.sub(r"\*\*([^*\n]+)\*\*", r"*\1*", line))
    if in_template:
        lines.append("```")
    return "\n".join(lines)


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at line, then sentence, then word boundaries."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n"), -1)
        if cut < limit // 2:
            cut = max((m.end() for m in re.finditer(r"[.!?\]]\s", window)), default=-1)
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _source_line(c: dict[str, Any], language: str) -> str:
    page = f" ({labels(language)['page']} {c['page']})" if c.get("page") else ""
    web = " · ".join(f"<{u}|{escape(u.split('/')[2] if '//' in u else u)}>" for u in c.get("links") or [] if u.startswith(("http://", "https://")))
    return f"[{c['n']}] <{c['url']}|{escape(c['section'])}>{page}" + (f" – Web: {web}" if web else "")


def answer_blocks(answer: dict[str, Any], ephemeral: bool = False) -> list[list[dict[str, Any]]]:
    """Messages (lists of blocks) for one answer; usually one message."""
    language = answer.get("language", "de")
    words = labels(language)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in split_text(_mrkdwn(answer["text"]))
    ]
    sources = answer.get("citations") or answer.get("sources") or []
    if sources:
        title = words["sources"] if answer.get("citations") else words["closest"]
        lines = "\n".join(_source_line(c, language) for c in sources)
        for piece in split_text(f"*{title}*\n{lines}"):
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": piece}})
    for note in answer.get("notes") or []:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(note)}]})
    actions: list[dict[str, Any]] = [
        {"type": "button", "action_id": "lotse_feedback_up", "text": {"type": "plain_text", "text": f"👍 {words['up']}"},
         "value": answer["answer_id"]},
        {"type": "button", "action_id": "lotse_feedback_down", "text": {"type": "plain_text", "text": f"👎 {words['down']}"},
         "value": answer["answer_id"]},
    ]
    if ephemeral:
        actions.insert(0, {"type": "button", "action_id": "lotse_share", "style": "primary",
                           "text": {"type": "plain_text", "text": words["share"]}, "value": answer["answer_id"]})
    blocks.append({"type": "actions", "block_id": "lotse_actions", "elements": actions})
    return [blocks[i : i + BLOCKS_PER_MESSAGE] for i in range(0, len(blocks), BLOCKS_PER_MESSAGE)]


def fallback_text(answer: dict[str, Any]) -> str:
    """Plain text for notifications and clients without blocks (Slack's limit is 40,000)."""
    text: str = answer["text"]
    return text[:3000]


def home_view() -> dict[str, Any]:
    return {"type": "home", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Lotse"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": HELP}},
    ]}
