"""Register a tuned candidate (or checkpoint) in the database with its lineage edge to the base.

The candidate's identity is what `lmbench eval PATH` computes for the saved folder (so a later
evaluation of the folder finds the same model), except for QLoRA, whose identity adds the 4-bit
quantization of the base it was trained and evaluated on. The edge (child, parent=base, relation
pretrain|sft) carries the recipe, its hash, the data hashes and mixture, the method, the step and the
training run id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmbench.models.fingerprint import fingerprint as fingerprint_of
from lmbench.models.loader import ModelIdentity, inspect_checkpoint


def register_base(store: Any, info: ModelIdentity, n_params: int | None = None) -> str:
    """Make sure the base model is in `models` (the runner registers it the same way)."""
    store.upsert_model(fingerprint=info.fingerprint, name=info.name, source=info.source.spec, kind=info.source.kind,
                       revision=info.identity.get("revision"), dtype=info.dtype, n_params=n_params,
                       base_model=info.base_name,
                       lineage={"base_fingerprint": info.base_fingerprint} if info.base_name else {},
                       identity=info.identity)
    return info.fingerprint


def candidate_identity(path: Path, *, device: str, quantization: dict | None) -> tuple[str, dict, ModelIdentity]:
    """(fingerprint, identity, inspected folder) of a saved candidate; QLoRA adds its quantization."""
    info = inspect_checkpoint(str(path), device=device)
    if quantization is None:
        return info.fingerprint, info.identity, info
    identity = {**info.identity, "quantization": quantization}
    return fingerprint_of(identity), identity, info


def register_candidate(store: Any, path: Path, *, name: str, base: ModelIdentity, relation: str, detail: dict,
                       n_params: int | None, device: str, quantization: dict | None = None) -> str:
    """Upsert the model saved at `path` under `name` and add its lineage edge to `base`; returns its fingerprint."""
    fp, identity, info = candidate_identity(path, device=device, quantization=quantization)
    register_base(store, base)
    store.upsert_model(fingerprint=fp, name=name, source=str(path), kind=info.source.kind, revision=None,
                       dtype=info.dtype, n_params=n_params, base_model=base.name,
                       lineage={}, identity=identity)  # the edge below is the lineage (a LoRA adapter also gets the
    # loader's `base` edge when it is evaluated)
    store.add_lineage(fp, base.fingerprint, relation, detail)
    return fp
