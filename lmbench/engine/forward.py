"""Model calls that return log-probabilities only where they are needed.

The backbone gives hidden states; only the positions that predict
continuation tokens go through the LM head and a log-softmax, so no
[batch, seq, vocab] tensor is ever built. A shared prefix (an MMLU subject's
description and shots) can be run once and its key/value cache reused by every
suffix in a batch. Both shortcuts are checked against the plain full-logits
forward on a probe input when the scorer is built; a model for which either
differs (custom logit scaling, exotic caches) falls back to the plain path.
"""

from __future__ import annotations

import sys
from typing import Any

import torch

from lmbench.engine.rows import Row, TargetScore

# How closely a shortcut must reproduce the plain forward, relative to the logits' scale. Half-precision
# kernels round differently for different shapes (float16/bfloat16 keep 11/8 significant bits).
PROBE_TOLERANCE = {torch.float32: 1e-4, torch.float64: 1e-8, torch.float16: 5e-3, torch.bfloat16: 3e-2}


class Scorer:
    """Runs batches of right-padded rows (optionally after a cached prefix) through one model."""

    def __init__(self, model: Any, pad_id: int) -> None:
        self.model = model
        self.pad_id = pad_id
        first = next(model.parameters())
        self.device = first.device
        self.tolerance = PROBE_TOLERANCE.get(first.dtype, 1e-4)
        self.backbone = getattr(model, model.base_model_prefix, None)
        self.head = model.get_output_embeddings()
        self.fast_head = self.backbone is not None and self.head is not None and self._probe_head()
        self.prefix_reuse = self.fast_head and self._probe_prefix()

    # -- probes -------------------------------------------------------------------------------------
    def _probe_ids(self) -> torch.Tensor:
        vocab = self.model.config.get_text_config().vocab_size
        generator = torch.Generator().manual_seed(0)
        return torch.randint(0, vocab, (1, 24), generator=generator).to(self.device)

    @torch.no_grad()
    def _probe_head(self) -> bool:
        ids = self._probe_ids()
        try:
            reference = self.model(ids).logits[0, -4:].float()
            hidden = self.backbone(input_ids=ids, use_cache=False).last_hidden_state
            mine = self.head(hidden[0, -4:]).float()
        except (TypeError, AttributeError, RuntimeError) as exc:
            print(f"lmbench: hidden-state scoring unavailable ({exc}); using full logits", file=sys.stderr)
            return False
        scale = max(1.0, float(reference.abs().max()))
        ok = reference.shape == mine.shape and bool((reference - mine).abs().max() <= self.tolerance * scale)
        if not ok:
            print("lmbench: this model post-processes its logits; scoring with full logits (slower)", file=sys.stderr)
        return ok

    @torch.no_grad()
    def _probe_prefix(self) -> bool:
        ids = self._probe_ids()
        tokens = tuple(ids[0].tolist())
        rows = [Row(tokens[10:], (tokens[-3:],)), Row(tokens[10:20], (tokens[18:21],))]
        try:
            full = self.score([Row(tokens[:10] + r.tokens, r.targets) for r in rows])
            cached = self.score(rows, prefix=tokens[:10])
        except (TypeError, AttributeError, RuntimeError, ValueError) as exc:
            print(f"lmbench: prefix key/value reuse unavailable for this model ({exc})", file=sys.stderr)
            return False
        diffs = [abs(a.logprob - b.logprob) for fa, fb in zip(full, cached) for a, b in zip(fa, fb)]
        return max(diffs) <= self.tolerance * max(1.0, max(abs(t.logprob) for f in full for t in f))

    # -- scoring ------------------------------------------------------------------------------------
    @torch.no_grad()
    def score(self, rows: list[Row], prefix: tuple[int, ...] | None = None) -> list[list[TargetScore]]:
        """Score every target of every row; `prefix`, if given, precedes each row's tokens."""
        width = max(len(r.tokens) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row.tokens)] = torch.tensor(row.tokens, dtype=torch.long)
        ids = ids.to(self.device)
        batch_idx = torch.tensor([i for i, r in enumerate(rows) for _ in range(r.max_cont)], device=self.device)
        pos_idx = torch.tensor([p for r in rows for p in range(len(r.tokens) - r.max_cont, len(r.tokens))],
                               device=self.device)
        if self.fast_head:
            hidden = self._hidden(ids, prefix)
            logits = self.head(hidden[batch_idx, pos_idx])
        else:
            logits = self.model(ids).logits[batch_idx, pos_idx]
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        greedy = logprobs.argmax(dim=-1).tolist()
        out, start = [], 0
        for row in rows:
            end = start + row.max_cont
            scores = []
            for target in row.targets:
                first = end - len(target)
                picked = logprobs[first:end].gather(1, torch.tensor(target, device=logprobs.device).unsqueeze(1))
                scores.append(TargetScore(tuple(picked.squeeze(1).tolist()), greedy[first:end] == list(target)))
            out.append(scores)
            start = end
        return out

    def _hidden(self, ids: torch.Tensor, prefix: tuple[int, ...] | None) -> torch.Tensor:
        if prefix is None or not prefix:
            return self.backbone(input_ids=ids, use_cache=False).last_hidden_state
        cache = self._expanded_prefix_cache(prefix, ids.shape[0])
        offset = len(prefix)
        positions = torch.arange(offset, offset + ids.shape[1], device=self.device)
        out = self.backbone(input_ids=ids, past_key_values=cache, use_cache=True,
                            position_ids=positions.unsqueeze(0).expand(ids.shape[0], -1))
        return out.last_hidden_state

    def _expanded_prefix_cache(self, prefix: tuple[int, ...], batch: int) -> Any:
        from transformers import DynamicCache
        from transformers.cache_utils import DynamicLayer

        if getattr(self, "_prefix_key", None) != prefix:
            ids = torch.tensor([prefix], dtype=torch.long, device=self.device)
            cache = self.backbone(input_ids=ids, use_cache=True).past_key_values
            layers = getattr(cache, "layers", None)
            if not layers or any(type(layer) is not DynamicLayer for layer in layers):
                raise ValueError("cache layers are not plain dynamic layers")
            self._prefix_kv = [(layer.keys, layer.values) for layer in layers]
            self._prefix_key = prefix
        data = [(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in self._prefix_kv]
        return DynamicCache(ddp_cache_data=data, config=self.model.config)
