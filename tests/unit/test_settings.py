from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.settings import Settings, describe
from lotse.cli import app


def test_env_nested_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LOTSE_CHROMA__PORT=9001\nLOTSE_EMBEDDER__BATCH_SIZE=4\n", encoding="utf-8")
    monkeypatch.setenv("LOTSE_CHROMA__HOST", "chroma.intern")
    settings = Settings()
    assert (settings.chroma.host, settings.chroma.port, settings.embedder.batch_size) == ("chroma.intern", 9001, 4)


def test_every_setting_is_described() -> None:
    rows = list(describe(Settings(_env_file=None)))
    assert len(rows) > 10
    assert all(description for _, _, description in rows)


def test_config_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOTSE_CHROMA__TOKEN", "streng-geheim-123")
    result = CliRunner().invoke(app, ["config"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "LOTSE_CHROMA__TOKEN" in result.output and "***" in result.output
    assert "streng-geheim-123" not in result.output
