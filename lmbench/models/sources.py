"""Turn the CHECKPOINT argument into a typed source: which loader, which files.

Accepted forms: a local Hugging Face folder (config.json), a GGUF file (or a
folder holding exactly one), a LoRA adapter folder (adapter_config.json; the
base comes from it unless given), a zoo delta folder (zoo_delta.json; needs the base), a Hub id `org/name[@revision]`, or the
built-in default (empty, `default`, `smollm2`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from lmbench.errors import CheckpointError

DEFAULT_ALIASES = {"", "default", "smollm2", "smollm2-135m-instruct"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")


@dataclass(frozen=True)
class CheckpointSource:
    kind: str  # "hf_dir" | "gguf" | "lora" | "hub" | "default" | "delta" (path: the delta folder)
    spec: str  # what the user typed
    path: Path | None = None  # local folder or GGUF file
    hub_id: str | None = None
    revision: str | None = None
    base: str | None = None  # base checkpoint of a LoRA adapter or a delta


def _adapter_base(folder: Path) -> str:
    config_file = folder / "adapter_config.json"
    try:
        config = json.loads(config_file.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(
            f"cannot read {config_file}: {exc}; a LoRA adapter folder needs a valid adapter_config.json"
        ) from None
    base = config.get("base_model_name_or_path")
    if not base:
        raise CheckpointError(
            f"{config_file} names no base_model_name_or_path; pass the base model with --base PATH"
        )
    return str(base)


def resolve_source(spec: str | None, base: str | None = None) -> CheckpointSource:
    """Classify a checkpoint string; raise CheckpointError with the fix when it names nothing usable."""
    text = (spec or "").strip()
    if text.lower() in DEFAULT_ALIASES:
        return CheckpointSource(kind="default", spec=text or "default")
    path = Path(text).expanduser()
    if path.is_file():
        if path.suffix.lower() == ".gguf":
            return CheckpointSource(kind="gguf", spec=text, path=path.resolve())
        raise CheckpointError(
            f"checkpoint {text!r} is a file but not a .gguf file; pass a model folder, a .gguf file or a Hub id"
        )
    if path.is_dir():
        if (path / "zoo_delta.json").is_file():
            from lmbench.zoo.source import delta_source

            return delta_source(text, path, base)
        if (path / "adapter_config.json").is_file():
            return CheckpointSource(kind="lora", spec=text, path=path.resolve(), base=base or _adapter_base(path))
        if (path / "config.json").is_file():
            return CheckpointSource(kind="hf_dir", spec=text, path=path.resolve())
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return CheckpointSource(kind="gguf", spec=text, path=ggufs[0].resolve())
        raise CheckpointError(
            f"folder {text!r} holds no config.json, adapter_config.json or single .gguf file; "
            "point at a Hugging Face model folder (saved with save_pretrained), a LoRA adapter or a .gguf file"
        )
    looks_local = text.startswith((".", "/", "~")) or text.endswith(".gguf") or text.count("/") > 1
    from lmbench.zoo.catalogue import entry_source

    if not looks_local and (zoo := entry_source(text, base)) is not None:  # a model published to the zoo catalogue
        return zoo
    if not looks_local and _HUB_ID.match(text):
        hub_id, _, revision = text.partition("@")
        return CheckpointSource(kind="hub", spec=text, hub_id=hub_id, revision=revision or None)
    raise CheckpointError(
        f"checkpoint {text!r} does not exist; pass an existing model folder, a .gguf file, "
        "a LoRA adapter folder or a Hub id like org/name"
    )
