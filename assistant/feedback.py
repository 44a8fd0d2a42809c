"""The question log and feedback store (SQLite by default, any SQLAlchemy URL), shared by web and Slack.

It also holds conversations: a follow-up's history is the logged turns of its conversation,
so every worker process sees the same conversation. The schema is versioned with Alembic
(assistant/migrations): the tables below describe the newest revision.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from assistant.conversation import Turn
from assistant.migrations import upgrade_database
from assistant.settings import DatabaseSettings
from assistant.types import Answer

log = logging.getLogger("lotse.feedback")
metadata = MetaData()

questions = Table(
    "questions", metadata,
    Column("answer_id", String(64), primary_key=True),
    Column("conversation_id", String(64), index=True),
    Column("created_at", DateTime(timezone=True), index=True, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("user", String(64)),  # pseudonymised
    Column("question", Text, nullable=False),
    Column("query", Text),
    Column("language", String(4)),
    Column("refused", Boolean, nullable=False),
    Column("answer", Text),
    Column("citations", Text),  # JSON list of Citation dicts
    Column("latency_ms", Float),
    Column("generator", String(32)),  # revision 0002; NULL for rows logged before it
)
slack_events = Table(
    "slack_events", metadata,
    Column("key", String(128), primary_key=True),  # channel:ts of a message, or a command's trigger id
    Column("created_at", DateTime(timezone=True), index=True, nullable=False),
)
feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(64), index=True, nullable=False),
    Column("created_at", DateTime(timezone=True), index=True, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("user", String(64)),
    Column("rating", Integer, nullable=False),  # +1 / -1
    Column("comment", Text),
)


@dataclass(frozen=True)
class LoggedQuestion:
    answer_id: str
    question: str
    language: str
    refused: bool
    answer: str
    created_at: datetime
    channel: str
    rating: int | None = None
    comment: str | None = None
    generator: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class FeedbackStore:
    """Writes never break answering: a failing database is logged and the answer still goes out.

    Opening it brings the database to the newest schema revision. `clock` gives the current time
    (UTC) for new rows, conversation expiry and retention.
    """

    def __init__(self, settings: DatabaseSettings, data_dir: Path, clock: Callable[[], datetime] = _now) -> None:
        self.settings = settings
        self._clock = clock
        url = settings.url or f"sqlite:///{(data_dir / 'lotse.db').as_posix()}"
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, pool_pre_ping=True, future=True)
        upgrade_database(self.engine)
        self._key = self._pseudonym_key(data_dir)
        self._purged = 0.0

    def _pseudonym_key(self, data_dir: Path) -> bytes:
        if self.settings.pseudonym_key is not None:
            return self.settings.pseudonym_key.get_secret_value().encode()
        path = data_dir / "pseudonym.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip().encode()

    def pseudonym(self, user: str | None) -> str | None:
        """A stable pseudonym for a user id or address (HMAC, not reversible without the key)."""
        if not user:
            return None
        return hmac.new(self._key, user.encode(), hashlib.sha256).hexdigest()[:32]

    def log_answer(self, answer: Answer, channel: str, conversation_id: str | None, user: str | None) -> bool:
        citations = [c.as_dict() for c in answer.citations]
        row = {
            "answer_id": answer.answer_id, "conversation_id": conversation_id, "created_at": self._clock(),
            "channel": channel, "user": self.pseudonym(user), "question": answer.question,
            "query": answer.query, "language": answer.language, "refused": answer.refused,
            "answer": answer.text, "citations": json.dumps(citations, ensure_ascii=False),
            "latency_ms": round(answer.timings.total * 1000, 1), "generator": answer.generator[:32] or None,
        }
        ok = self._write(insert(questions).values(**row))
        self._purge_now_and_then()
        return ok

    def add_feedback(self, answer_id: str, rating: int, comment: str | None, channel: str, user: str | None) -> bool:
        row = {"answer_id": answer_id, "created_at": self._clock(), "channel": channel, "user": self.pseudonym(user),
               "rating": 1 if rating > 0 else -1, "comment": (comment or "").strip()[:2000] or None}
        return self._write(insert(feedback).values(**row))

    def knows_answer(self, answer_id: str) -> bool:
        try:
            with self.engine.connect() as conn:
                return conn.execute(select(questions.c.answer_id).where(questions.c.answer_id == answer_id)).first() is not None
        except SQLAlchemyError:
            log.exception("question log not readable")
            return False

    def history(self, conversation_id: str, turns: int, max_age_minutes: int) -> list[Turn]:
        """The last `turns` turns of a conversation that is not older than `max_age_minutes`."""
        if turns <= 0:
            return []
        since = self._clock() - timedelta(minutes=max_age_minutes)
        query = (
            select(questions.c.question, questions.c.answer, questions.c.query)
            .where(questions.c.conversation_id == conversation_id, questions.c.created_at >= since)
            .order_by(questions.c.created_at.desc()).limit(turns)
        )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError:
            log.exception("conversation history not readable")
            return []
        return [Turn(r.question, r.answer or "", r.query or "") for r in reversed(rows)]

    def logged(self, since_days: int = 90) -> list[LoggedQuestion]:
        """Logged questions with their feedback (latest rating and comment), newest first."""
        since = self._clock() - timedelta(days=since_days)
        rating = select(feedback.c.answer_id, func.min(feedback.c.rating).label("rating"),
                        func.max(feedback.c.comment).label("comment")).group_by(feedback.c.answer_id).subquery()
        query = (
            select(questions, rating.c.rating, rating.c.comment)
            .join(rating, rating.c.answer_id == questions.c.answer_id, isouter=True)
            .where(questions.c.created_at >= since).order_by(questions.c.created_at.desc())
        )
        with self.engine.connect() as conn:
            return [
                LoggedQuestion(r.answer_id, r.question, r.language or "de", bool(r.refused), r.answer or "",
                               r.created_at, r.channel, r.rating, r.comment, r.generator)
                for r in conn.execute(query)
            ]

    def claim_event(self, key: str) -> bool:
        """True exactly once per key, across threads and worker processes (Slack retries)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(slack_events).values(key=key[:128], created_at=self._clock()))
            return True
        except IntegrityError:
            return False
        except SQLAlchemyError:
            log.exception("event de-duplication unavailable; answering anyway")
            return True

    def stored_answer(self, answer_id: str) -> dict[str, Any] | None:
        """A logged answer (text, citations, language, refused) to show again."""
        with self.engine.connect() as conn:
            row = conn.execute(select(questions).where(questions.c.answer_id == answer_id)).first()
        if row is None:
            return None
        return {"answer_id": row.answer_id, "question": row.question, "text": row.answer or "",
                "language": row.language or "de", "refused": bool(row.refused),
                "citations": json.loads(row.citations or "[]"), "generator": row.generator}

    def purge(self) -> int:
        """Delete questions and feedback older than the retention period."""
        now = self._clock()
        cutoff = now - timedelta(days=self.settings.retention_days)
        try:
            with self.engine.begin() as conn:
                removed = conn.execute(delete(feedback).where(feedback.c.created_at < cutoff)).rowcount
                removed += conn.execute(delete(questions).where(questions.c.created_at < cutoff)).rowcount
                conn.execute(delete(slack_events).where(slack_events.c.created_at < now - timedelta(days=1)))
            return int(removed or 0)
        except SQLAlchemyError:
            log.exception("purging old questions failed")
            return 0

    def _purge_now_and_then(self) -> None:
        if time.monotonic() - self._purged > 3600:
            self._purged = time.monotonic()
            self.purge()

    def _write(self, statement: Any) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(statement)
            return True
        except SQLAlchemyError:
            log.exception("writing to the question log failed; the answer is still served")
            return False
