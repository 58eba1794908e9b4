"""A delta as a checkpoint source: `lmbench eval DELTA --base BASE` recovers into the cache once, then loads.

`sources.resolve_source` calls `delta_source` for a folder holding `zoo_delta.json` (refusing it without
`--base`, with the commands to run instead) and `entry_source` for a zoo catalogue entry name; the loader
calls `recovered_folder`, which checks the base against the manifest on every use (cheap: digests are
memoised) and recovers under `cache_root()/zoo/recovered/<manifest hash>` the first time.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from lmbench.errors import CheckpointError
from lmbench.models.sources import CheckpointSource
from lmbench.paths import cache_root
from lmbench.zoo.errors import ZooError
from lmbench.zoo.manifest import MANIFEST, load_manifest


def delta_source(spec: str, folder: Path, base: str | None) -> CheckpointSource:
    if not base:
        manifest = load_manifest(folder)
        raise CheckpointError(
            f"{spec!r} is an lmbench delta, not a model (its base is {manifest['base']['name']!r}, fingerprint "
            f"{manifest['base']['fingerprint']}): evaluate it with `lmbench eval {spec} --base BASE`, or recover it "
            f"with `lmbench zoo apply-delta --base BASE --delta {spec} --out DIR`")
    return CheckpointSource(kind="delta", spec=spec, path=Path(folder).resolve(), base=base)


def recovered_folder(source: CheckpointSource) -> Path:
    """The model the delta `source.path` recovers from `source.base`, recovered into the cache if not there yet."""
    from lmbench.zoo.apply import apply_delta, check_base
    from lmbench.zoo.folders import model_folder

    assert source.path is not None and source.base is not None  # delta_source guarantees both
    manifest = load_manifest(source.path)
    key = hashlib.sha256((source.path / MANIFEST).read_bytes()).hexdigest()[:16]
    folder = cache_root() / "zoo" / "recovered" / key
    base_dir = model_folder(source.base, "base")
    check_base(manifest, base_dir)
    if folder.is_dir():
        return folder
    print(f"lmbench: recovering delta {source.spec} onto {source.base} into {folder} (once)", file=sys.stderr)
    try:
        apply_delta(str(base_dir), source.path, folder)
    except ZooError:
        if not folder.is_dir():  # another process recovering the same delta finished first: use its copy
            raise
    return folder
