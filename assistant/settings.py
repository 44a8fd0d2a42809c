"""The one settings tree: env prefix LOTSE_, nested groups with `__` (LOTSE_CHROMA__HOST), `.env`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.settings import IndexSettings


class Settings(IndexSettings, BaseSettings):
    """All of Lotse's settings; the defaults are the embedded, offline ones."""

    model_config = SettingsConfigDict(
        env_prefix="LOTSE_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )


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
        elif value is None:
            shown = ""
        else:
            shown = str(value)
        yield env, shown, info.description or ""
