"""The one settings tree: env prefix LOTSE_, nested groups with `__` (LOTSE_CHROMA__HOST), `.env`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ingest.errors import configuration_error
from ingest.settings import IndexSettings

PRESETS = Path(__file__).parent / "presets"


class RetrievalSettings(BaseModel):
    fusion: Literal["rrf", "convex", "adaptive"] = Field(
        "rrf", description="How dense and keyword evidence combine (see assistant/ranking.py)."
    )
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense side.")
    keyword_weight: float = Field(1.0, ge=0, description="Weight of the keyword (BM25) side.")
    keyword_weight_en: float = Field(
        0.2, ge=0, description="Keyword weight for English questions (the corpus is German)."
    )
    keyword_rare_weight: float = Field(
        0.0, description="adaptive: keyword weight added per share of rare query terms."
    )
    keyword_number_weight: float = Field(
        0.0, description="adaptive: keyword weight added when the query holds digits, § or Art."
    )
    rrf_k: int = Field(5, ge=1, description="Rank offset k of reciprocal-rank fusion.")
    thesaurus_weight: float = Field(
        0.0, ge=0, description="convex/adaptive: weight of BM25 over thesaurus synonyms of unfamiliar query words (0: off)."
    )
    thesaurus_max_df: int = Field(2, ge=0, description="Query words in at most this many chunks get synonyms.")
    asked_weight: float = Field(
        0.1, ge=0, description="Extractive: bonus for a unit naming what is asked for (\"Welche Förderquote …\" -> Förderquote)."
    )
    heading_weight: float = Field(
        0.0, ge=0, description="convex/adaptive: weight of the query terms a candidate's own heading holds."
    )
    sentence_weight: float = Field(
        0.0, ge=0, description="Second stage: weight of a candidate's best sentence similarity (0: off)."
    )
    rescore_depth: int = Field(20, ge=0, le=200, description="Second stage: how many first-stage candidates it rescores.")
    depth: int = Field(40, ge=5, le=500, description="Candidates taken from each retriever.")
    passages: int = Field(5, ge=1, le=20, description="Passages handed to the generator.")
    reranker_model: str | None = Field(
        None, description="sentence-transformers CrossEncoder id/path; unset = no reranking."
    )
    rerank_depth: int = Field(20, ge=1, le=200, description="Fused hits a reranker reorders.")


class EvidenceSettings(BaseModel):
    unit_cache: int = Field(20000, ge=100, description="Embeddings of passage units kept in memory (LRU).")


class RefusalSettings(BaseModel):
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="Logistic model over the refusal evidence (assistant/refusal.py FEATURES); written by "
        "`lotse eval tune` into the preset.",
    )
    bias: float = Field(5.0, description="The model's intercept (untuned default: never refuse).")
    threshold: float = Field(0.5, ge=0, le=1, description="Refuse when the model's answer probability is below this.")
    min_best_sentence: float = Field(
        0.0, ge=0, le=1, description="Refuse, whatever the model says, when no sentence of the top passages is this similar "
        "to the question (written by `lotse eval tune`: the 1st percentile over answerable tuning questions).",
    )
    min_best_sentence_en: float = Field(
        0.0, ge=0, le=1, description="The same floor for English questions (cross-lingual similarities run lower).",
    )
    top_passages: int = Field(3, ge=1, le=20, description="Fused candidates whose best sentence counts as evidence.")
    sources_shown: int = Field(3, ge=0, le=10, description="Closest sources shown with a refusal.")


class OpenAISettings(BaseModel):
    base_url: str = Field(
        "http://127.0.0.1:11434/v1", description="OpenAI-compatible endpoint (vLLM, Ollama, ...)."
    )
    model: str = Field("llama3.1", description="Model name at the endpoint.")
    api_key: SecretStr = Field(SecretStr("not-needed"), description="API key for the endpoint.")
    timeout: float = Field(30.0, gt=0, description="Seconds before falling back to extractive.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(600, ge=50, description="Longest answer in tokens.")


class OllamaSettings(BaseModel):
    base_url: str = Field("http://127.0.0.1:11434", description="Ollama server (native API).")
    model: str = Field("llama3.1", description="Model name in Ollama.")
    timeout: float = Field(30.0, gt=0, description="Seconds before falling back to extractive.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")


UNIT_FEATURES = (
    "similarity", "overlap", "asked", "heading", "form", "rank", "dense", "fused", "item", "first", "position", "length", "number",
    "header",
)


class GeneratorSettings(BaseModel):
    backend: Literal["extractive", "openai", "ollama"] = Field(
        "extractive",
        description="extractive (no model, default), openai (any OpenAI-compatible endpoint) or ollama (native API).",
    )
    max_sentences: int = Field(
        3, ge=1, le=12, description="Most sentences in an extractive answer (the first answers); "
        "written by `lotse eval tune` into the preset."
    )
    max_items: int = Field(20, ge=1, le=60, description="Most list items an extractive answer gives (lists come whole).")
    margin: float = Field(
        0.05, ge=0, description="Extractive: units scoring within this of the best one may support it; "
        "written by `lotse eval tune` into the preset."
    )
    gather: int = Field(
        3, ge=2, description="Extractive: when this many best units are all items of one list, the list answers "
        "(after its best item, as the direct answer); chosen on own-dev among 2, 3, 4 and 6.",
    )
    unit_weights: dict[str, float] = Field(
        default_factory=lambda: {"similarity": 1.0, "overlap": 0.15, "asked": 0.1, "heading": 0.1, "form": 0.05, "rank": -0.01},
        description="Extractive: a unit's score is the sum of these weights times its features ("
        + ", ".join(UNIT_FEATURES) + "); the best unit is the answer's first line, the next ones support it. "
        "Learned by `lotse eval tune` and written into the preset (the default: similarity plus key terms, heading and form).",
    )

    @field_validator("unit_weights")
    @classmethod
    def _known_features(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = set(weights) - set(UNIT_FEATURES)
        if unknown:
            raise ValueError(f"unknown unit features {sorted(unknown)}; known: {', '.join(UNIT_FEATURES)}")
        return weights

    openai: OpenAISettings = Field(default_factory=OpenAISettings, description="OpenAI-compatible LLM endpoint.")
    ollama: OllamaSettings = Field(default_factory=OllamaSettings, description="Ollama endpoint.")


class CitationSettings(BaseModel):
    min_similarity: float = Field(
        0.88, description="Embedding similarity a sentence needs to a cited passage sentence."
    )
    min_overlap: float = Field(
        0.7, description="Share of a sentence's key terms that must occur in the cited passage."
    )
    strict_similarity: float = Field(0.96, description="Similarity that suffices without term overlap.")
    cross_lingual_similarity: float = Field(
        0.86, description="Similarity an English sentence needs to the German passage it cites."
    )
    unsupported: Literal["remove", "flag"] = Field(
        "remove", description="What happens to a sentence no cited passage supports."
    )
    quote_chars: int = Field(400, ge=40, le=4000, description="Longest quote shown with a citation.")


class AnswerSettings(BaseModel):
    max_question_chars: int = Field(1000, ge=10, description="Longest accepted question.")
    public_url: str = Field(
        "http://127.0.0.1:8000", description="Base URL of the web service, for source links."
    )
    english_confidence: float = Field(
        0.6, ge=0.5, le=1, description="lingua's confidence above which an unclear question counts as English."
    )


class ConversationSettings(BaseModel):
    turns: int = Field(6, ge=0, le=50, description="Earlier turns a follow-up (and the LLM prompt) sees.")
    minutes: int = Field(120, ge=1, description="A conversation expires after this idle time.")
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="Logistic model 'follow-up or new question' over assistant/conversation.py FEATURES; "
        "written by `lotse eval tune` into the preset.",
    )
    bias: float = Field(-5.0, description="The model's intercept (untuned default: every question stands alone).")
    threshold: float = Field(0.5, ge=0, le=1, description="A follow-up when the model's probability reaches this.")


class WebSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address `lotse serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `lotse serve` listens on.")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes.")
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000", "http://localhost:8000"],
        description="Origins whose pages may embed the widget (CORS allowlist).",
    )
    api_tokens: list[SecretStr] = Field(
        default_factory=list, description="Bearer tokens that may also see internal documents."
    )
    admin_token: SecretStr | None = Field(None, description="Bearer token for admin endpoints (re-ingest).")
    rate_limit_per_minute: int = Field(30, ge=1, description="Questions per client and minute.")


class DatabaseSettings(BaseModel):
    url: str = Field(
        "", description="SQLAlchemy URL of the feedback/question log (default: SQLite in data_dir)."
    )
    retention_days: int = Field(180, ge=1, description="Questions and feedback older than this are deleted.")
    pseudonym_key: SecretStr | None = Field(
        None, description="Key for pseudonymising user ids (default: generated once in data_dir)."
    )


Visibility = Literal["public", "internal"]


def _every_visibility() -> list[Visibility]:
    return ["public", "internal"]


class SlackScope(BaseModel):
    doc_types: list[str] = Field(default_factory=list, description="Allowed document types (empty: all).")
    tags: list[str] = Field(default_factory=list, description="Allowed tags (empty: all).")
    visibility: list[Visibility] = Field(default_factory=_every_visibility, description="Allowed visibility.")


class SlackSettings(BaseModel):
    bot_token: SecretStr | None = Field(None, description="Bot token (xoxb-…); Slack is off without it.")
    signing_secret: SecretStr | None = Field(None, description="Signing secret for HTTP events (/slack/events).")
    app_token: SecretStr | None = Field(None, description="App-level token (xapp-…) for Socket Mode (`lotse slack`).")
    api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL.")
    default_scope: SlackScope = Field(
        default_factory=SlackScope, description="What Slack may cite by default (internal included)."
    )
    channel_scopes: dict[str, SlackScope] = Field(
        default_factory=dict, description='Per channel id, e.g. {"C0123": {"doc_types": ["leitfaden"]}}.'
    )
    rate_limit_per_minute: int = Field(10, ge=1, description="Questions per Slack user and minute.")


class Settings(IndexSettings, BaseSettings):
    """All of Lotse's settings; the defaults are the embedded, offline ones."""

    preset: str = Field(
        "default", description="Tuned values (assistant/presets/<name>.yaml or a path) under env and .env."
    )
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings, description="Retrieval.")
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings, description="Scoring passage units.")
    refusal: RefusalSettings = Field(default_factory=RefusalSettings, description="Refusals.")
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings, description="Answers.")
    citations: CitationSettings = Field(default_factory=CitationSettings, description="Citation check.")
    answer: AnswerSettings = Field(default_factory=AnswerSettings, description="Questions and links.")
    conversation: ConversationSettings = Field(default_factory=ConversationSettings, description="Follow-ups.")
    web: WebSettings = Field(default_factory=WebSettings, description="Web service and widget.")
    db: DatabaseSettings = Field(default_factory=DatabaseSettings, description="Question log and feedback.")
    slack: SlackSettings = Field(default_factory=SlackSettings, description="Slack bot.")

    model_config = SettingsConfigDict(
        env_prefix="LOTSE_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values, then the environment, then `.env`, then the preset, then defaults."""
        preset = PresetSource(settings_cls, init_settings, env_settings, dotenv_settings)
        return init_settings, env_settings, dotenv_settings, preset, file_secret_settings


def preset_path(name: str) -> Path:
    """A preset by name (assistant/presets/<name>.yaml) or by path."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else PRESETS / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PRESETS.glob("*.yaml")))
        raise configuration_error(f"Preset „{name}“ nicht gefunden (vorhanden: {known}).", f"Preset '{name}' not found (known: {known}).")
    return path


def read_preset(name: str) -> dict[str, Any]:
    """A preset file: `settings` (the tuned values) and `about` (who wrote it, from what)."""
    data = yaml.safe_load(preset_path(name).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("settings", {}), dict):
        raise configuration_error(f"Preset „{name}“: erwartet wird eine YAML-Datei mit `settings:`.")
    return data


class PresetSource(PydanticBaseSettingsSource):
    """The tuned values of the named preset, below everything set explicitly."""

    def __init__(self, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._sources = sources

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        name = next((str(v) for v in (s().get("preset") for s in self._sources) if v), None)
        name = name or os.environ.get("LOTSE_PRESET") or "default"
        settings = read_preset(name).get("settings") or {}
        return dict(settings)


def load_settings(**overrides: Any) -> Settings:
    """Settings from defaults, `.env`, the environment and explicit overrides (in that order)."""
    return Settings(**overrides)


def describe(model: BaseModel, prefix: str = "LOTSE_") -> Iterator[tuple[str, str, str]]:
    """(env var, effective value with secrets masked, description) for every leaf setting."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        env = f"{prefix}{name.upper()}"
        if isinstance(value, BaseModel):
            yield from describe(value, env + "__")
            continue
        if isinstance(value, SecretStr):
            shown = "***" if value.get_secret_value() else ""
        elif isinstance(value, list) and any(isinstance(v, SecretStr) for v in value):
            shown = f"*** ({len(value)})"
        elif value is None:
            shown = ""
        else:
            shown = str(value)
        yield env, shown, info.description or ""
