"""The openai generator against a local OpenAI-compatible server with queued replies."""

from __future__ import annotations

from fakes import never_refuse
from mock_openai import MockOpenAI, Reply

from assistant.answer import FALLBACK_NOTE, AnswerEngine
from assistant.generation import REFUSAL_TOKEN
from assistant.settings import Settings

QUESTION = "Wann ist eine Datenschutz-Folgenabschätzung nötig?"
GOOD = "Eine Datenschutz-Folgenabschätzung nach Art. 35 DSGVO ist nötig, wenn ein hohes Risiko besteht. [1]"


def engine(settings: Settings, fake_index, mock: MockOpenAI, timeout: float = 5.0) -> AnswerEngine:  # type: ignore[no-untyped-def]
    settings.generator.backend = "openai"
    settings.generator.openai.base_url = mock.base_url
    settings.generator.openai.timeout = timeout
    settings.generator.openai.model = "test-model"
    never_refuse(settings)  # not about refusal: never refuse
    return AnswerEngine(settings, fake_index)


def _passage_with(answer, text: str) -> int:  # type: ignore[no-untyped-def]
    return next(c.n for c in answer.citations if text in c.quote)


def test_prompt_numbers_passages_and_demands_citations(settings: Settings, fake_index, mock_openai: MockOpenAI) -> None:  # type: ignore[no-untyped-def]
    mock_openai.queue(GOOD)
    answer = engine(settings, fake_index, mock_openai).answer(QUESTION)
    request = mock_openai.requests[0]
    system, user = request["messages"][0]["content"], request["messages"][-1]["content"]
    assert request["model"] == "test-model"
    assert "[n]" not in system and "[1]" in system and REFUSAL_TOKEN in system and "Deutsch" in system
    assert user.count("\n[") >= 2 and user.endswith(f"Frage: {QUESTION}")
    assert not answer.refused and answer.generator == "openai" and answer.invented == 0
    assert answer.text.endswith("[1]") and answer.citations[0].doc_id == "leitfaden-datenschutz"


def test_invented_citation_is_dropped(settings: Settings, fake_index, mock_openai: MockOpenAI) -> None:  # type: ignore[no-untyped-def]
    mock_openai.queue(GOOD.replace("[1]", "[1][7]") + " Außerdem gilt eine Frist von 99 Tagen. [7]")
    answer = engine(settings, fake_index, mock_openai).answer(QUESTION)
    assert answer.invented == 2
    assert "[7]" not in answer.text and "99 Tagen" not in answer.text
    assert [c.n for c in answer.citations] == [1]


def test_unsupported_sentence_is_removed(settings: Settings, fake_index, mock_openai: MockOpenAI) -> None:  # type: ignore[no-untyped-def]
    mock_openai.queue(GOOD + " Die Kosten betragen 216.000 Euro pro Jahr. [1]")
    answer = engine(settings, fake_index, mock_openai).answer(QUESTION)
    assert answer.unsupported == 1 and "216.000" not in answer.text and not answer.refused


def test_model_refusal_becomes_a_refusal(settings: Settings, fake_index, mock_openai: MockOpenAI) -> None:  # type: ignore[no-untyped-def]
    mock_openai.queue(REFUSAL_TOKEN)
    answer = engine(settings, fake_index, mock_openai).answer(QUESTION)
    assert answer.refused and answer.sources


def test_timeout_falls_back_to_extractive_with_a_note(settings: Settings, fake_index, mock_openai: MockOpenAI) -> None:  # type: ignore[no-untyped-def]
    mock_openai.queue(Reply(GOOD, delay=3.0))
    answer = engine(settings, fake_index, mock_openai, timeout=0.5).answer(QUESTION)
    assert not answer.refused and answer.generator == "extractive"
    assert answer.notes == [FALLBACK_NOTE["de"]] and answer.citations


def test_server_error_falls_back_too(settings: Settings, fake_index, mock_openai: MockOpenAI) -> None:  # type: ignore[no-untyped-def]
    mock_openai.queue(Reply(status=500))
    answer = engine(settings, fake_index, mock_openai).answer("When is a data protection impact assessment required?")
    assert answer.generator == "extractive" and answer.notes == [FALLBACK_NOTE["en"], "Quoted in German from the guides."]


def test_streaming_yields_pieces_then_the_checked_answer(settings: Settings, fake_index, mock_openai: MockOpenAI) -> None:  # type: ignore[no-untyped-def]
    mock_openai.queue(GOOD)
    events = list(engine(settings, fake_index, mock_openai).stream(QUESTION))
    deltas = [p for e, p in events if e == "delta"]
    assert len(deltas) > 3 and "".join(deltas).strip() == GOOD
    assert events[-1][0] == "answer" and mock_openai.requests[0]["stream"] is True
