"""Register a tuned candidate (or checkpoint) in the database with its lineage edge to the base.

The candidate's identity is what `lmbench eval PATH` computes for the saved folder (a content
fingerprint, so the folder and the model in memory are one model), except for QLoRA: its candidate is
the 4-bit model it was trained and evaluated as, identified in memory (the identity records the
bitsandbytes 4-bit quantization). The edge (child, parent=base, relation pretrain|sft) carries the
recipe, its hash, the data hashes and mixture, the method, the step and the training run id.
"""

from __future__ import annotations

from typing import Any

from lmbench.models.loader import ModelIdentity


def register_model(store: Any, info: ModelIdentity, n_params: int | None = None, name: str | None = None) -> str:
    """Upsert a model as the runner does (a later name becomes an alias); returns its fingerprint."""
    store.upsert_model(fingerprint=info.fingerprint, name=name or info.name, source=info.source.spec,
                       kind=info.source.kind, revision=getattr(info, "revision", None), dtype=info.dtype,
                       n_params=n_params, base_model=info.base_name,
                       lineage={"base_fingerprint": info.base_fingerprint} if info.base_name else {},
                       identity=info.identity)
    return info.fingerprint


def register_candidate(store: Any, info: ModelIdentity, *, name: str, base: ModelIdentity, relation: str,
                       detail: dict, n_params: int | None) -> str:
    """Upsert the candidate under `name` and add its lineage edge to `base`; returns its fingerprint."""
    register_model(store, base)
    register_model(store, info, n_params, name)
    store.add_lineage(info.fingerprint, base.fingerprint, relation, detail)
    return info.fingerprint
