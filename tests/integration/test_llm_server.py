"""The openai generator against a real OpenAI-compatible server running a real (tiny) model.

SmolLM2-135M-Instruct on CPU is far too small to answer well, so these tests check the plumbing
(requests, streaming, errors) through Lotse's own client code, never the answer's quality.
"""

from __future__ import annotations

import pytest
from llm_server import LLMServer
from pydantic import SecretStr

from assistant.errors import LotseError, ServiceCode
from assistant.generation import Draft, GenerationRequest
from assistant.llm import LLMGenerator, build_llm
from assistant.passages import make_passages
from assistant.settings import GeneratorSettings, OpenAISettings
from assistant.types import Hit
from ingest.types import StoredChunk


def request() -> GenerationRequest:
    def hit(cid: str, text: str, section: tuple[str, ...]) -> Hit:
        chunk = StoredChunk(cid, text, doc_id=cid.split(":")[0], title=section[0], section_path=section, page=2)
        return Hit(chunk, 1.0)

    passages = make_passages([
        hit("lf:1", "A data protection impact assessment is required when the risk is high.", ("Guide", "3 DPIA")),
        hit("lf:2", "The LoD2 building model is updated once a year.", ("Guide", "4 Data")),
    ])
    return GenerationRequest("How often is the LoD2 building model updated?", "en", passages, asks=[])


def generator(server: LLMServer, timeout: float = 120.0, model: str | None = None) -> LLMGenerator:
    # temperature 0: greedy decoding, the same text every run; 50 tokens is the least Lotse allows
    settings = OpenAISettings(base_url=server.base_url, model=model or server.model, api_key=SecretStr("not-needed"),
                              timeout=timeout, temperature=0.0, max_tokens=50)
    return LLMGenerator(build_llm(GeneratorSettings(backend="openai", openai=settings)), "openai")


def test_generate_returns_the_models_text(llm_server: LLMServer) -> None:
    draft = generator(llm_server).generate(request())
    assert isinstance(draft, Draft) and draft.generator == "openai"
    assert not draft.refused and draft.text.strip(), draft


def test_stream_yields_pieces_then_the_draft(llm_server: LLMServer) -> None:
    events = list(generator(llm_server).stream(request()))
    pieces, final = [e for e in events[:-1] if isinstance(e, str)], events[-1]
    assert len(pieces) == len(events) - 1 >= 3 and all(pieces)
    assert isinstance(final, Draft) and final.generator == "openai"
    assert final.text == "".join(pieces).strip()


def test_unknown_model_name_is_unavailable(llm_server: LLMServer) -> None:
    with pytest.raises(LotseError) as caught:  # the server is pinned to its model and answers 400
        generator(llm_server, model="some-other-model").generate(request())
    assert caught.value.code == ServiceCode.GENERATOR_UNAVAILABLE


@pytest.mark.parametrize("call", ["stream", "generate"])  # last: the server still finishes an abandoned generate
def test_tiny_timeout_is_unavailable(llm_server: LLMServer, call: str) -> None:
    impatient = generator(llm_server, timeout=0.001)
    with pytest.raises(LotseError) as caught:
        if call == "stream":
            list(impatient.stream(request()))
        else:
            impatient.generate(request())
    assert caught.value.code == ServiceCode.GENERATOR_UNAVAILABLE
