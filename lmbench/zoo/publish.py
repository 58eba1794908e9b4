"""Publish a delta or a LoRA adapter (with its card) to the Hub or the local zoo folder, and pull it back.

The Hub is reached through `huggingface_hub.HfApi(endpoint=...)`: `create_repo`, then one `create_commit`
with every file and the README.md card. `pull` downloads with `snapshot_download(endpoint=...)` at the
entry's commit when the zoo knows it, checks every file's sha256 against the entry, and applies the delta
(or, for an adapter, checks the base's fingerprint and copies the adapter).
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lmbench.zoo.card import CardFacts, latest_results, render_card
from lmbench.zoo.catalogue import entry_stem, local_files, read_entry, write_entry
from lmbench.zoo.errors import ZooError
from lmbench.zoo.folders import atomic_folder, refuse_existing
from lmbench.zoo.manifest import file_sha256, is_delta_folder, load_manifest

_SKIP = {"README.md"}  # the card is written by publish


def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and p.relative_to(folder).as_posix() not in _SKIP}


def _hub_base_id(name: str) -> str:
    from lmbench.models.default_model import CONVERTED_NAME, DEFAULT_MODEL_NAME, HUB_ID

    return HUB_ID if name in (CONVERTED_NAME, DEFAULT_MODEL_NAME) else name


def describe(folder: Path, base: str | None) -> dict[str, Any]:
    """kind, fingerprint, base name and fingerprint (and sizes) of a delta or adapter folder."""
    if is_delta_folder(folder):
        manifest = load_manifest(folder)
        return {"kind": "delta", "fingerprint": manifest["target"]["fingerprint"],
                "base_name": manifest["base"]["name"], "base_fingerprint": manifest["base"]["fingerprint"],
                "sizes": manifest.get("sizes", {})}
    if (folder / "adapter_config.json").is_file():
        from lmbench.models.loader import inspect_checkpoint

        info = inspect_checkpoint(str(folder), base=base)
        assert info.base is not None
        return {"kind": "adapter", "fingerprint": info.fingerprint, "base_name": info.base.name,
                "base_fingerprint": info.base.fingerprint, "sizes": {}}
    raise ZooError(f"{folder} is neither a delta (zoo_delta.json) nor a LoRA adapter (adapter_config.json); "
                   "make a delta first: `lmbench zoo make-delta --base B --target T --out D`")


def _hub_error(action: str, endpoint: str, exc: Exception) -> ZooError:
    reason = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
    return ZooError(f"could not {action} on {endpoint} ({reason}); check --endpoint and your token (HF_TOKEN or "
                    "`hf auth login`), or publish with --local to keep the files in the zoo folder")


def publish(model: str, *, repo: str, base: str | None = None, private: bool = False, endpoint: str | None = None,
            local: bool = False, zoo_dir: Path = Path("zoo"), db: str | None = None,
            base_model: str | None = None) -> dict[str, Any]:
    """Upload MODEL with its card (or keep it under the zoo folder with `local`); write the zoo entry."""
    from lmbench.paths import default_db_path

    folder = Path(model)
    if not folder.is_dir():
        raise ZooError(f"{model!r} is not a folder; publish a delta folder (make-delta) or a LoRA adapter folder")
    facts = describe(folder, base)
    db_path = Path(db) if db else default_db_path()
    results, commands, lineage = latest_results(db_path, facts["fingerprint"])
    base_results = latest_results(db_path, facts["base_fingerprint"])[0]
    card = render_card(CardFacts(repo=repo, kind=facts["kind"], fingerprint=facts["fingerprint"],
                                 base_name=facts["base_name"], base_fingerprint=facts["base_fingerprint"],
                                 base_model=base_model or _hub_base_id(facts["base_name"]), results=results,
                                 lineage=lineage, commands=commands, db=str(db_path), sizes=facts["sizes"],
                                 base_results=base_results))
    files = _files(folder)
    hashes = {rel: file_sha256(path) for rel, path in files.items()} | {"README.md": _sha(card.encode())}
    revision, used_endpoint = None, None
    if local:
        target = local_files(zoo_dir, repo)
        if target.exists():
            shutil.rmtree(target)  # lmbench wrote it: a re-publish replaces the local copy
        with atomic_folder(target) as tmp:
            for rel, path in files.items():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, tmp / rel)
            (tmp / "README.md").write_text(card)
        revision = _sha("".join(f"{k}:{v}\n" for k, v in sorted(hashes.items())).encode())[:40]
    else:
        revision, used_endpoint = _upload(repo, files, card, private=private, endpoint=endpoint)
    entry = {"repo": repo, "kind": facts["kind"], "location": "local" if local else "hub", "endpoint": used_endpoint,
             "revision": revision, "private": private, "fingerprint": facts["fingerprint"],
             "base": {"name": facts["base_name"], "fingerprint": facts["base_fingerprint"]}, "files": hashes,
             "results": [{k: (None if v != v else v) for k, v in row.items()}  # NaN -> null
                         for row in results[["task", "metric", "value", "n", "ci_low", "ci_high"]].to_dict("records")]
             if not results.empty else [],
             "lineage": lineage, "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "entry_file": f"{entry_stem(repo)}.json"}
    write_entry(zoo_dir, entry, card)
    return entry


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _upload(repo: str, files: dict[str, Path], card: str, *, private: bool, endpoint: str | None) -> tuple[str, str]:
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=endpoint)
    try:
        api.create_repo(repo, private=private, exist_ok=True)
        operations = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(path)) for rel, path in files.items()]
        operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode()))
        info = api.create_commit(repo, operations=operations, commit_message="lmbench zoo publish")
    except Exception as exc:  # noqa: BLE001 - every Hub/network failure has the same fix for the user
        raise _hub_error(f"publish {repo}", api.endpoint, exc) from None
    return str(info.oid), api.endpoint


def fetch_files(entry: dict[str, Any], zoo: Path, *, endpoint: str | None = None, revision: str | None = None) -> Path:
    """The folder holding an entry's files (local copy, or a verified Hub download)."""
    if entry["location"] == "local":
        folder = local_files(zoo, entry["repo"])
        if not folder.is_dir():
            raise ZooError(f"zoo entry {entry['repo']} was published --local but {folder} is missing; publish it again")
    else:
        folder = download(entry["repo"], endpoint=endpoint or entry.get("endpoint"),
                          revision=revision or entry.get("revision"))
    for rel, sha in entry["files"].items():
        path = folder / rel
        if not path.is_file() or file_sha256(path) != sha:
            raise ZooError(f"file {rel} of {entry['repo']} is missing or differs from the zoo entry's sha256; the "
                           "repository changed since it was published: pull a revision that matches or publish again")
    return folder


def download(repo: str, *, endpoint: str | None, revision: str | None) -> Path:
    from huggingface_hub import HfApi, snapshot_download

    from lmbench.paths import cache_root

    used = endpoint or HfApi().endpoint
    try:
        return Path(snapshot_download(repo, revision=revision, endpoint=endpoint,
                                      cache_dir=str(cache_root() / "zoo" / "hub")))
    except Exception as exc:  # noqa: BLE001 - every Hub/network failure has the same fix for the user
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
        raise ZooError(f"could not download {repo} from {used} ({reason}); check the name, --endpoint and your "
                       "network, or use a zoo entry published --local") from None


def pull(repo: str, *, base: str, out: Path, endpoint: str | None = None, revision: str | None = None,
         zoo_dir: Path = Path("zoo")) -> dict[str, Any]:
    """Download REPO and recover it onto BASE at OUT (delta), or check BASE and copy it to OUT (adapter)."""
    out = Path(out)
    refuse_existing(out)
    entry = read_entry(zoo_dir, repo)
    if entry is not None:
        folder = fetch_files(entry, zoo_dir, endpoint=endpoint, revision=revision)
    else:
        folder = download(repo, endpoint=endpoint, revision=revision)
    if is_delta_folder(folder):
        from lmbench.zoo.apply import apply_delta

        manifest = apply_delta(base, folder, out)
        return {"kind": "delta", "fingerprint": manifest["target"]["fingerprint"], "folder": out}
    facts = describe(folder, base)
    if entry is not None and facts["base_fingerprint"] != entry["base"]["fingerprint"]:
        raise ZooError(f"wrong base {base}: its fingerprint is {facts['base_fingerprint']}, the adapter {repo} was "
                       f"published for {entry['base']['name']!r} ({entry['base']['fingerprint']})")
    with atomic_folder(out) as tmp:
        for rel, path in _files(folder).items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, tmp / rel)
    return {"kind": "adapter", "fingerprint": facts["fingerprint"], "folder": out}
