"""The real `lotse` command line with the fake embedder, for subprocess tests that are not about
embeddings (they then need no model and start in a second instead of loading PyTorch):

    python tests/lotse_fake_embedder.py ingest
    python tests/lotse_fake_embedder.py search "Frage" --json

Every process started this way (and the test itself, via `open_index(settings, FakeEmbedder())`)
uses the same index, named after the fake embedder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakes import FakeEmbedder

import ingest.index


def _fake_embedder(*args: Any, **kwargs: Any) -> FakeEmbedder:
    return FakeEmbedder()


ingest.index.build_embedder = _fake_embedder  # type: ignore[assignment]

if __name__ == "__main__":
    from lotse.cli import app

    app()
