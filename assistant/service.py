"""The one entry for channels (web, Slack): one engine, the feedback store, limits, metrics."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

from assistant.answer import AnswerEngine
from assistant.errors import LotseError, ServiceCode, index_unavailable, rate_limited
from assistant.feedback import FeedbackStore
from assistant.ratelimit import RateLimiter
from assistant.settings import Settings
from assistant.types import Answer
from ingest.types import Filters

log = logging.getLogger("lotse.service")


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter("lotse_requests", "HTTP requests", ["route", "status"], registry=self.registry)
        self.latency = Histogram("lotse_answer_seconds", "Time to a complete answer", ["channel"], registry=self.registry,
                                 buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30))
        self.answers = Counter("lotse_answers", "Answers given", ["channel", "refused"], registry=self.registry)
        self.feedback = Counter("lotse_feedback", "Feedback received", ["channel", "rating"], registry=self.registry)


class Service:
    """Answers for any channel: loads the engine lazily (and again after a failure), logs,
    keeps conversations and rate limits."""

    def __init__(self, settings: Settings, engine: AnswerEngine | None = None, store: FeedbackStore | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self._engine_lock = threading.Lock()
        self.store = store or FeedbackStore(settings.db, settings.paths.data_dir)
        self.limiter = RateLimiter(settings.web.rate_limit_per_minute)
        self.metrics = Metrics()

    @property
    def engine(self) -> AnswerEngine:
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    try:
                        self._engine = AnswerEngine(self.settings)
                    except LotseError:
                        raise
                    except Exception as exc:
                        log.warning("index not available: %s: %s", type(exc).__name__, exc)
                        raise index_unavailable() from exc
        return self._engine

    def limit(self, key: str) -> None:
        """Raise RATE_LIMITED when `key` asked too often in the last minute."""
        wait = self.limiter.check(key)
        if wait:
            raise rate_limited(wait)

    def stream(
        self, question: str, conversation_id: str | None, filters: Filters, channel: str, user: str | None
    ) -> Iterator[tuple[str, object]]:
        """Engine events for one question; the final answer is logged with its conversation."""
        conversation_id = conversation_id or uuid.uuid4().hex
        conversation = self.settings.conversation
        history = self.store.history(conversation_id, conversation.turns, conversation.minutes)
        yield "meta", {"conversation_id": conversation_id}
        for event, payload in self.engine.stream(question, history, filters):
            if event == "answer":
                assert isinstance(payload, Answer)
                self.record(payload, channel, conversation_id, user)
            yield event, payload

    def answer(self, question: str, conversation_id: str | None, filters: Filters, channel: str, user: str | None) -> tuple[Answer, str]:
        """The complete answer and the conversation it belongs to."""
        conversation = conversation_id or uuid.uuid4().hex
        for event, payload in self.stream(question, conversation, filters, channel, user):
            if event == "answer" and isinstance(payload, Answer):
                return payload, conversation
        raise index_unavailable()  # the engine always ends with an answer

    def record(self, answer: Answer, channel: str, conversation_id: str | None, user: str | None) -> None:
        self.metrics.latency.labels(channel).observe(answer.timings.total)
        self.metrics.answers.labels(channel, str(answer.refused).lower()).inc()
        self.store.log_answer(answer, channel, conversation_id, user)

    def feedback(self, answer_id: str, rating: int, comment: str | None, channel: str, user: str | None) -> None:
        if not self.store.knows_answer(answer_id):
            raise LotseError(ServiceCode.NOT_FOUND, "Diese Antwort ist nicht bekannt.", "This answer is not known.")
        self.store.add_feedback(answer_id, rating, comment, channel, user)
        self.metrics.feedback.labels(channel, "up" if rating > 0 else "down").inc()
