"""`lmbench data convert {hh-rlhf,pubmedqa,medmcqa} SRC --out FILE` and `lmbench data check FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(no_args_is_help=True, help="Prepare training data: convert benchmark files, check LMFlow datasets.")
SOURCES = ("hh-rlhf", "pubmedqa", "medmcqa")


def _convert(source: str, src: Path, field: str, split: str, limit: Optional[int], test_ids: Optional[Path]):
    from lmbench.data import convert
    from lmbench.data.readers import read_json
    from lmbench.errors import ConfigError

    if source == "hh-rlhf":
        if field == "pairs":
            return convert.hh_rlhf_pairs(src, limit=limit)
        if field not in ("chosen", "rejected"):
            raise ConfigError(f"--field {field!r} is not chosen, rejected or pairs (hh-rlhf)")
        return convert.hh_rlhf_conversations(src, field=field, limit=limit)
    if source == "medmcqa":
        return convert.medmcqa_explanations(src, limit=limit)
    if split not in ("all", "train", "test"):
        raise ConfigError(f"--split {split!r} is not all, train or test (pubmedqa)")
    ids = None
    if split != "all":
        truth = test_ids or src.parent / "test_ground_truth.json"
        if not truth.is_file():
            raise ConfigError(f"--split {split} needs the official test ids ({truth} not found); pass --test-ids FILE")
        test = set(read_json(truth))
        ids = [pmid for pmid in read_json(src) if (pmid in test) == (split == "test")]
    if field not in ("qa", "decision", "abstracts"):
        raise ConfigError(f"--field {field!r} is not qa, decision or abstracts (pubmedqa)")
    dataset = (convert.pubmedqa_decisions if field == "decision" else convert.pubmedqa_text2text)(src, ids)
    if field == "abstracts":
        from lmbench.data.lmflow import LMFlowDataset, validate_instance

        instances = [validate_instance("text_only", {"id": inst["id"], "text": inst["input"].split("\nContext: ", 1)[-1]},
                                       f"{src}: instance {i}") for i, inst in enumerate(dataset.instances)]
        dataset = LMFlowDataset("text_only", instances, dataset.files)
    if limit is not None:
        from lmbench.data.lmflow import LMFlowDataset

        dataset = LMFlowDataset(dataset.type, dataset.instances[:limit], dataset.files)
    return dataset


@app.command("convert")
def convert_command(
    source: Annotated[str, typer.Argument(help="hh-rlhf | pubmedqa | medmcqa")],
    src: Annotated[Path, typer.Argument(help="Source file: hh-rlhf test.jsonl(.gz), pubmedqa ori_pqal.json, medmcqa dev.jsonl.")],
    out: Annotated[Path, typer.Option("--out", help="LMFlow dataset to write (.json, or .jsonl).")],
    field: Annotated[str, typer.Option(help="hh-rlhf: chosen | rejected | pairs; pubmedqa: qa (long answer) | decision (the pubmedqa task's prompt -> yes/no/maybe) | abstracts (text_only).")] = "",
    split: Annotated[str, typer.Option(help="pubmedqa: all | train (outside the official 500-question test split) | test.")] = "all",
    limit: Annotated[Optional[int], typer.Option(help="Keep the first N instances.")] = None,
    test_ids: Annotated[Optional[Path], typer.Option("--test-ids", help="pubmedqa: test_ground_truth.json (default: beside SRC).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
) -> None:
    """Convert a benchmark file into an LMFlow dataset (text2text, conversation, paired_conversation, text_only)."""
    import tempfile

    from lmbench.data.convert import save_lmflow
    from lmbench.errors import ConfigError
    from lmbench.outputs import check_file_target, write_file

    if source not in SOURCES:
        raise ConfigError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    if not src.is_file():
        raise ConfigError(f"{src} does not exist; give the {source} source file")
    if out.suffix not in (".json", ".jsonl"):
        raise ConfigError(f"--out {out} must end in .json or .jsonl (LMFlow dataset files)")
    check_file_target(out, inputs=[src, test_ids], force=force)  # before the conversion: nothing is written
    default_field = {"hh-rlhf": "chosen", "pubmedqa": "qa", "medmcqa": ""}[source]
    dataset = _convert(source, src, field or default_field, split, limit, test_ids)
    with tempfile.TemporaryDirectory() as tmp:
        staged = save_lmflow(dataset, Path(tmp) / f"dataset{out.suffix}")
        write_file(out, staged.read_bytes(), inputs=[src, test_ids], force=force)
    skipped = f" ({dataset.skipped} malformed source rows skipped)" if dataset.skipped else ""
    typer.echo(f"wrote {out}: {len(dataset)} {dataset.type} instances{skipped}")


@app.command("check")
def check_command(
    path: Annotated[Path, typer.Argument(help="LMFlow dataset file or folder.")],
    model: Annotated[str, typer.Option(help="Model whose tokenizer counts the tokens (default: built-in SmolLM2).")] = "default",
    template: Annotated[str, typer.Option(help="robin | chatml | llama3 | tokenizer | plain (SFT data).")] = "robin",
    max_length: Annotated[int, typer.Option("--max-length", help="SFT: examples are cut at this many tokens.")] = 512,
    block_size: Annotated[int, typer.Option("--block-size", help="Pretraining: tokens per packed block.")] = 512,
    truncation: Annotated[str, typer.Option(help="SFT: left (keep the reply, drop the oldest prompt tokens) | right.")] = "left",
) -> None:
    """Type, rows and tokens of a dataset under a tokenizer and template; the first instance with trained tokens marked."""
    from rich.console import Console
    from rich.markup import escape
    from rich.text import Text

    from lmbench.data.lmflow import load_lmflow
    from lmbench.models.loader import inspect_checkpoint
    from lmbench.tuning.datacheck import check_dataset
    from lmbench.verbosity import quiet_libraries

    from lmbench.errors import ConfigError
    from lmbench.tuning.sft_data import TRUNCATIONS

    if truncation not in TRUNCATIONS:
        raise ConfigError(f"--truncation {truncation!r} is not left or right")
    quiet_libraries()
    dataset = load_lmflow(path)
    tokenizer = inspect_checkpoint(model).tokenizer
    report = check_dataset(dataset, str(path), tokenizer, template, max_length, block_size, truncation)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"{escape(report.path)}: {report.type}, {report.rows} rows")
    for key, value in report.stats.items():
        console.print(f"  {escape(key)}: {escape(str(value))}")
    console.print("first instance (trained tokens between «»):")
    text = Text()
    for span, trained in report.first:
        text.append(f"«{span}»" if trained else span, style="bold green" if trained else "dim")
    console.print(text)
