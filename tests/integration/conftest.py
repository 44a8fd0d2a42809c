"""Fixtures for integration tests that need a real language model server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llm_server import LLMServer


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMServer]:
    """A running `transformers serve` with SmolLM2-135M-Instruct: `.base_url` (…/v1) and `.model`."""
    server = LLMServer(tmp_path_factory.mktemp("llm-server") / "server.log").start()
    yield server
    server.stop()
