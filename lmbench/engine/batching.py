"""Plan the forward passes: deduplicate inputs, find shared prefixes, cut batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lmbench.engine.rows import Row
from lmbench.errors import ConfigError

MIN_PREFIX = 64  # tokens; shorter shared prefixes are not worth a separate cache pass
# Attended tokens per batch for --batch-size auto. On CPU, measured with SmolLM2 on MMLU 5-shot and PubMedQA
# (benchmarks in the closing note of issue [1]): 1-2k tokens is fastest, 16k is 1.6x slower (cache misses).
# On GPU wider is better until memory runs out, where the engine halves the budget and retries.
AUTO_TOKEN_BUDGET = {"cpu": 2048, "cuda": 32768}
AUTO_MAX_ROWS = 64


def parse_batch_size(value: str | int) -> int | None:
    """`auto` -> None (token budget with out-of-memory back-off); else a positive row count."""
    if isinstance(value, int) or str(value).isdigit():
        size = int(value)
        if size >= 1:
            return size
    elif str(value).lower() == "auto":
        return None
    raise ConfigError(f"--batch-size {value!r} is not a positive integer or 'auto'")


@dataclass(frozen=True)
class Group:
    """Rows run together; `prefix` (possibly empty) is computed once and shared by all of them."""

    prefix: tuple[int, ...]
    rows: list[Row]


def _common_prefix_len(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def plan_groups(rows: list[Row], reuse_prefix: bool) -> list[Group]:
    """Split rows into prefix-sharing clusters (sorted neighbours sharing >= MIN_PREFIX tokens) and the rest."""
    if not reuse_prefix or len(rows) < 2:
        return [Group((), rows)]
    ordered = sorted(rows, key=lambda r: r.tokens)
    clusters: list[list[Row]] = [[ordered[0]]]
    shared: list[int] = [len(ordered[0].tokens)]
    for prev, row in zip(ordered, ordered[1:]):
        lcp = _common_prefix_len(prev.tokens, row.tokens)
        if lcp >= MIN_PREFIX:
            clusters[-1].append(row)
            shared[-1] = min(shared[-1], lcp)
        else:
            clusters.append([row])
            shared.append(len(row.tokens))
    plain: list[Row] = []
    groups: list[Group] = []
    for members, lcp in zip(clusters, shared):
        # Every scored position must fall after the prefix: cap at min(len - max_cont).
        length = min([lcp] + [len(r.tokens) - r.max_cont for r in members])
        if len(members) < 2 or length < MIN_PREFIX:
            plain.extend(members)
            continue
        prefix = members[0].tokens[:length]
        groups.append(Group(prefix, [Row(r.tokens[length:], r.targets) for r in members]))
    if plain:
        groups.insert(0, Group((), plain))
    return groups


def cut_batches(rows: list[Row], batch_size: int | None, token_budget: int, prefix_len: int = 0) -> Iterator[list[Row]]:
    """Longest rows first (an out-of-memory shows at once); fixed row count, or a token budget.

    The budget counts each row's attended length, prefix included: every row's attention reads (and its
    key/value cache copies) the whole prefix, which made wide batches over long prefixes slower, not faster.
    """
    ordered = sorted(rows, key=lambda r: (-len(r.tokens), r.tokens))
    start = 0
    while start < len(ordered):
        if batch_size is not None:
            size = batch_size
        else:
            width = max(len(ordered[start].tokens) + prefix_len, 1)
            size = max(1, min(AUTO_MAX_ROWS, token_budget // width))
        yield ordered[start : start + size]
        start += size
