"""`lmbench zoo make-delta|apply-delta|publish|pull|list`: exact deltas, adapters and the model zoo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

zoo_app = typer.Typer(no_args_is_help=True, help="Exact delta weights, adapters, Hub publishing with model cards.")

ZooDir = Annotated[str, typer.Option("--zoo-dir", envvar="LMBENCH_ZOO", help="Zoo catalogue folder (one manifest per published model).")]
Endpoint = Annotated[Optional[str], typer.Option(help="Hub URL (default: the huggingface_hub default, https://huggingface.co).")]


def _say(text: str) -> None:
    from rich.console import Console

    from lmbench.cli.safe_text import plain

    Console(stderr=True, highlight=False).print(plain(text))  # no markup, no terminal codes from names


@zoo_app.command("make-delta")
def make_delta_command(
    base: Annotated[str, typer.Option(help="Base model folder (safetensors) the delta is taken against.")],
    target: Annotated[str, typer.Option(help="Fine-tuned model folder (safetensors) to publish as a delta.")],
    out: Annotated[Path, typer.Option(help="New folder for the delta (must not exist).")],
) -> None:
    """Write TARGET as an exact delta against BASE: bit-identical recovery, per-tensor sha256 in zoo_delta.json."""
    from lmbench.zoo.delta import make_delta

    manifest = make_delta(base, target, out)
    sizes = manifest["sizes"]
    ops: dict[str, int] = {}
    for entry in manifest["tensors"].values():
        ops[entry["op"]] = ops.get(entry["op"], 0) + 1
    _say(f"lmbench: wrote delta {out} ({sizes['delta_bytes'] / 1e6:.1f} MB for a {sizes['target_bytes'] / 1e6:.1f} MB "
         f"target; tensors {', '.join(f'{k} {v}' for k, v in sorted(ops.items()))}); base {manifest['base']['fingerprint']}, "
         f"target {manifest['target']['fingerprint']}")


@zoo_app.command("apply-delta")
def apply_delta_command(
    base: Annotated[str, typer.Option(help="Base model folder the delta was made against (checked tensor by tensor).")],
    delta: Annotated[Path, typer.Option(help="Delta folder (with zoo_delta.json).")],
    out: Annotated[Path, typer.Option(help="New folder for the recovered model (must not exist).")],
) -> None:
    """Recover the target model from BASE + DELTA, verifying every tensor; nothing is written unless all match."""
    from lmbench.zoo.apply import apply_delta

    manifest = apply_delta(base, delta, out)
    _say(f"lmbench: recovered {out} (target fingerprint {manifest['target']['fingerprint']}, "
         f"{len(manifest['tensors'])} tensors verified)")


@zoo_app.command("publish")
def publish_command(
    model: Annotated[str, typer.Argument(help="Delta folder (from make-delta) or LoRA adapter folder.")],
    repo: Annotated[str, typer.Option(help="Hub repository OWNER/NAME.")],
    base: Annotated[Optional[str], typer.Option(help="Adapter's base model (default: from adapter_config.json).")] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the repository private.")] = False,
    endpoint: Endpoint = None,
    local: Annotated[bool, typer.Option("--local", help="No network: keep the files in the zoo folder instead of the Hub.")] = False,
    zoo_dir: ZooDir = "zoo",
    db: Annotated[Optional[str], typer.Option(envvar="LMBENCH_DB", help="Results database for the model card (default ./lmbench.duckdb).")] = None,
) -> None:
    """Upload MODEL with a model card built from the database, and record it in the zoo catalogue."""
    from lmbench.zoo.publish import publish

    entry = publish(model, repo=repo, base=base, private=private, endpoint=endpoint, local=local,
                    zoo_dir=Path(zoo_dir), db=db)
    where = entry["location"] if entry["location"] == "local" else f"{entry['endpoint']} @ {entry['revision'][:12]}"
    _say(f"lmbench: published {repo} ({entry['kind']}, {where}); zoo entry {Path(zoo_dir) / entry['entry_file']}")


@zoo_app.command("pull")
def pull_command(
    repo: Annotated[str, typer.Argument(help="Hub repository OWNER/NAME (or a zoo entry of that name).")],
    base: Annotated[str, typer.Option(help="Base model folder to apply the delta to.")],
    out: Annotated[Path, typer.Option(help="New folder for the recovered model or the adapter (must not exist).")],
    endpoint: Endpoint = None,
    revision: Annotated[Optional[str], typer.Option(help="Hub revision (default: the zoo entry's, else main).")] = None,
    zoo_dir: ZooDir = "zoo",
) -> None:
    """Download REPO (Hub, or the zoo folder when it was published --local) and apply it to BASE."""
    from lmbench.zoo.publish import pull

    result = pull(repo, base=base, out=out, endpoint=endpoint, revision=revision, zoo_dir=Path(zoo_dir))
    _say(f"lmbench: pulled {repo} into {out} ({result['kind']}; fingerprint {result['fingerprint']})")


@zoo_app.command("list")
def list_command(zoo_dir: ZooDir = "zoo",
                 fmt: Annotated[str, typer.Option("--format", help="table|csv|json")] = "table") -> None:
    """The models in the zoo catalogue."""
    from lmbench.cli.output import emit
    from lmbench.zoo.catalogue import entries_frame

    emit(entries_frame(Path(zoo_dir)), fmt, None, title=f"zoo {zoo_dir}")
