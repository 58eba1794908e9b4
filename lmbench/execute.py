"""Score one model's pending documents: families build requests, the engine table answers, families score.

Documents go in chunks of `write_every`; each chunk's requests (any mix of kinds) are answered by the
model's engines (lmbench.engine.dispatch, by request type), split back per document, scored by the task's
family and written to the database at once, so a killed run loses at most one chunk.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lmbench.engine.dispatch import ModelEngines
from lmbench.engine.requests import LoglikelihoodRequest


@dataclass
class RunContext:
    """The ScoringContext a family gets: the evaluated model's engines, and helpers kept for the plan."""

    lm: Any
    engines: ModelEngines
    seed: int
    batch_size: str
    progress: bool
    plan_cache: dict[str, Any] = field(default_factory=dict)

    @property
    def bar(self) -> Any:
        return self.engines.bar

    def engine(self, name: str) -> Any:
        return self.engines.engine(name)

    def shared(self, key: str, build: Any) -> Any:
        if key not in self.plan_cache:
            self.plan_cache[key] = build()
        return self.plan_cache[key]


def compute(lm: Any, config: Any, pending: list[tuple[Any, list[int]]], db_path: Path, run_id: str,
            plan_cache: dict[str, Any]) -> dict[str, float]:
    """Score the pending documents task by task, writing every `write_every` of them; seconds per task."""
    import torch
    from tqdm.auto import tqdm

    from lmbench.store import Store

    random.seed(config.seed)
    torch.manual_seed(config.seed)
    engines = ModelEngines(lm, batch_size=config.batch_size, reuse_prefix=config.reuse_prefix,
                           progress=config.progress)
    ctx = RunContext(lm, engines, config.seed, config.batch_size, config.progress, plan_cache)
    requests = {(id(item), i): item.task.build_requests(item, item.data.docs[i], item.prompts[i])
                for item, indices in pending for i in indices}
    # Loglikelihood requests are counted up front; NLL and rolling texts add their windows as they are cut.
    total = sum(isinstance(r, LoglikelihoodRequest) for rs in requests.values() for r in rs)
    seconds: dict[str, float] = {}
    was_training = lm.model.training
    lm.model.eval()
    try:
        with tqdm(total=total, desc="loglikelihood", unit="req", disable=not config.progress, file=sys.stderr,
                  dynamic_ncols=True) as bar:
            engines.bar = bar
            for item, indices in pending:
                began = time.perf_counter()
                for start in range(0, len(indices), config.write_every):
                    chunk = indices[start : start + config.write_every]
                    per_doc = [requests[(id(item), i)] for i in chunk]
                    flat = engines.run([r for rs in per_doc for r in rs])
                    outputs, cursor = [], 0
                    for rs in per_doc:
                        outputs.append(flat[cursor : cursor + len(rs)])
                        cursor += len(rs)
                    records = item.task.score(item, [item.data.docs[i] for i in chunk],
                                              [item.prompts[i] for i in chunk], outputs, ctx)
                    with Store(db_path) as store:
                        store.write_samples(run_id, pd.DataFrame([r.as_row() for r in records]))
                if indices:
                    seconds[f"task_s:{item.task.name}"] = time.perf_counter() - began
    finally:
        lm.model.train(was_training)
    return seconds
