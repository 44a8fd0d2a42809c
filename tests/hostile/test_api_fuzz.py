"""Schemathesis against the OpenAPI spec of the app: no generated input may cause a server error."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from pydantic import SecretStr
from schemathesis import GenerationMode

from assistant.answer import AnswerEngine
from assistant.service import Service
from assistant.settings import Settings
from assistant.web.app import create_app


def test_no_server_errors(settings: Settings, fake_index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.db.url = f"sqlite:///{tmp_path}/fuzz.db"
    settings.web.rate_limit_per_minute = 100_000
    settings.web.admin_token = SecretStr("admin")
    app = create_app(settings, Service(settings, engine=AnswerEngine(settings, fake_index)))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    seen: dict[str, list[int]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/chat", "/api/chat/stream", "/api/feedback", "/sources/{doc_id}", "/readyz"}
    for operation, mode in [(op, m) for op in operations for m in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]:

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: schemathesis.Case) -> None:
            response = case.call()
            seen.setdefault(f"{case.operation.method.upper()} {case.operation.path}", []).append(response.status_code)
            assert response.status_code < 500, (case.method, case.path, case.body, response.text[:300])
            assert "Traceback" not in response.text

        try:
            call()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE  # nothing to get wrong (no parameters, no body)
    print({k: sorted(set(v)) for k, v in seen.items()})
    assert sum(len(v) for v in seen.values()) >= 200
    assert 422 in seen["POST /api/chat"] and 200 in seen["POST /api/chat"]
