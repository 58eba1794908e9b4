"""Lineage: edges (child, parent, relation, detail) between models, which only grow.

Relations used by lmbench: lora, merge, sft, pretrain, raft, dpo, rlhf, reward, delta, dtype, quantize,
adapter, and `base` (a schema 1 record naming a base model); any other non-empty text is allowed. An edge
is keyed by (child, parent, relation): adding it again keeps it, and its detail only gains keys (a key
already recorded keeps its first value). Nothing erases an edge.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lmbench.errors import LineageError
from lmbench.store import frames
from lmbench.store.base import StoreBase
from lmbench.store.db import utcnow

_ANCESTRY = """
WITH RECURSIVE up(child, parent, relation, detail, created_at, depth, expanded) AS (
    SELECT child, parent, relation, detail, created_at, 1, [child] FROM lineage WHERE child = ?
    UNION ALL
    SELECT l.child, l.parent, l.relation, l.detail, l.created_at, up.depth + 1, list_append(up.expanded, l.child)
    FROM lineage l JOIN up ON l.child = up.parent WHERE NOT list_contains(up.expanded, l.child)
)
SELECT up.child, up.parent, up.relation, any_value(up.detail) AS detail, min(up.depth) AS depth,
       any_value(c.name) AS child_name, any_value(p.name) AS parent_name, any_value(up.created_at) AS created_at
FROM up LEFT JOIN models c ON c.fingerprint = up.child LEFT JOIN models p ON p.fingerprint = up.parent
GROUP BY up.child, up.parent, up.relation
ORDER BY depth, up.child, up.parent, up.relation
"""


class LineageMixin(StoreBase):
    def add_lineage(self, child: str, parent: str, relation: str, detail: dict[str, Any] | None = None) -> None:
        """Record that `child` was made from `parent` by `relation`; both must be models of this database."""
        if not isinstance(relation, str) or not relation.strip():
            raise LineageError(f"lineage relation must be a non-empty text such as 'lora', 'sft' or 'merge', "
                               f"got {relation!r}")
        if detail is not None and not isinstance(detail, dict):
            raise TypeError(f"lineage detail must be a dict or None, got {type(detail).__name__}")
        if child == parent:
            raise LineageError(f"lineage edge {child} -> {parent} ({relation}) names one model as its own parent; "
                               "pass the fingerprint the model was made from")
        self._writable()
        for role, fingerprint in (("child", child), ("parent", parent)):
            if not self._exists("models", "fingerprint", fingerprint):
                raise LineageError(
                    f"lineage {role} {fingerprint!r} is not a model in {self.path}; register it first "
                    "(evaluate it with `lmbench eval`, or Store.upsert_model) and pass its full fingerprint")
        old = self.con.execute("SELECT detail FROM lineage WHERE child = ? AND parent = ? AND relation = ?",
                               [child, parent, relation]).fetchall()
        if old:
            merged = {**(detail or {}), **(frames.loads(old[0][0]) or {})}
            self._transaction([("UPDATE lineage SET detail = ? WHERE child = ? AND parent = ? AND relation = ?",
                                [frames.dumps(merged or None, "lineage detail"), child, parent, relation])])
            return
        self._transaction([("INSERT INTO lineage VALUES (?, ?, ?, ?, ?)",
                            [child, parent, relation, frames.dumps(detail, "lineage detail"), utcnow()])])

    def ancestry(self, fingerprint: str) -> pd.DataFrame:
        """Every edge from `fingerprint` up to its roots: child, parent, relation, detail, depth (1 = direct
        parent), then the two models' names; a diamond's shared ancestor appears once, at its nearest depth."""
        return frames.decode(self.query(_ANCESTRY, [fingerprint]), ("detail",))

    def edges(self, child: str | None = None) -> pd.DataFrame:
        """Lineage edges (all, or of one child), oldest first, detail parsed."""
        return self._table("lineage", {"child": child}, "created_at, child, parent, relation")

    def aliases(self, fingerprint: str | None = None) -> pd.DataFrame:
        """Later names of models (fingerprint, alias, first_seen)."""
        return self._table("model_aliases", {"fingerprint": fingerprint}, "fingerprint, first_seen, alias")
