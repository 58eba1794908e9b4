"""The library API: `lmbench.evaluate` / `lmbench.Plan` on checkpoints and in-memory models.

Identity: one model evaluated from its folder, from a copy re-saved in several shards and in memory has one
fingerprint; the copy and the in-memory model reuse every answer the folder computed, and an in-memory
evaluation computed afresh gives the same per-sample log-likelihoods. Bad input is a one-line LmbenchError.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TASKS = "lmbench_sample"


def _sharded_copy(folder: Path, target: Path, max_shard_size: str) -> Path:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder)
    model.save_pretrained(target, max_shard_size=max_shard_size)
    for item in folder.iterdir():
        if item.name.startswith(("tokenizer", "special_tokens", "vocab", "merges", "chat_template")):
            shutil.copy(item, target / item.name)
    shards = sorted(target.glob("*.safetensors"))
    assert len(shards) >= 3, f"expected several shards, got {[s.name for s in shards]}"
    return target


def _check_identity(folder: Path, tmp_path: Path, max_shard_size: str, **options: object) -> None:
    import lmbench
    from transformers import AutoModelForCausalLM, AutoTokenizer

    db = str(tmp_path / "id.duckdb")
    plan = lmbench.Plan(TASKS, db=db, progress=False, **options)
    from_folder = plan.run(str(folder))
    n = len(from_folder.samples)
    assert from_folder.reused == 0 and from_folder.computed == n > 0
    from_shards = plan.run(str(_sharded_copy(folder, tmp_path / "sharded", max_shard_size)))
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    in_memory = lmbench.evaluate(model, tasks=TASKS, tokenizer=tokenizer, db=db, progress=False, **options)
    assert from_folder.fingerprint == from_shards.fingerprint == in_memory.fingerprint
    for outcome in (from_shards, in_memory):
        assert outcome.computed == 0 and outcome.reused == n, "every answer the folder computed is reused"
        assert list(outcome.samples["logprobs"]) == list(from_folder.samples["logprobs"])
    fresh = lmbench.evaluate(model, tasks=TASKS, tokenizer=tokenizer, db=str(tmp_path / "fresh.duckdb"),
                             progress=False, **options)
    assert fresh.computed == n and fresh.fingerprint == from_folder.fingerprint
    assert list(fresh.samples["doc_id"]) == list(from_folder.samples["doc_id"])
    assert list(fresh.samples["logprobs"]) == list(from_folder.samples["logprobs"])  # computed in memory, same numbers


def test_folder_shards_and_memory_are_one_model(tiny_llama: Path, tmp_path: Path) -> None:
    _check_identity(tiny_llama, tmp_path, "40KB")


@pytest.mark.slow
def test_folder_shards_and_memory_are_one_model_on_smollm2(smollm2_dir: Path, tmp_path: Path) -> None:
    _check_identity(smollm2_dir, tmp_path, "150MB", limit=3)


def test_in_memory_model_keeps_its_training_mode_and_the_plan_reuses_answers(tiny_llama: Path,
                                                                              tmp_path: Path) -> None:
    import lmbench
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    model.train()
    plan = lmbench.Plan(TASKS, db=str(tmp_path / "m.duckdb"), limit=5, progress=False)
    first = plan.run(model, tokenizer=tokenizer, name="step-0")
    assert model.training, "evaluation must hand the model back in the mode it came in"
    assert first.model_name == "step-0" and first.computed == 5
    again = plan.run(model, tokenizer=tokenizer, name="step-0")
    assert again.status == "cached" and again.run_id == first.run_id
    import torch

    with torch.no_grad():
        next(model.parameters()).add_(0.5)  # a training step: new weights, new fingerprint, nothing reused
    changed = plan.run(model, tokenizer=tokenizer, name="step-1")
    assert changed.fingerprint != first.fingerprint and changed.reused == 0 and changed.computed == 5


def _tiny_bert():
    from transformers import BertConfig, BertModel

    return BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=32))


@pytest.mark.parametrize("case, match", [
    ("bert", "BertModel, not a causal language model"),
    ("dict", "model is a dict; pass a checkpoint path"),
    ("no_tokenizer", "in-memory model needs its tokenizer"),
    ("unknown_option", "unknown evaluation option 'limt' \\(did you mean 'limit'\\?\\)"),
])
def test_bad_input_is_one_line(case: str, match: str, tiny_llama: Path, tmp_path: Path) -> None:
    import lmbench
    from lmbench.errors import LmbenchError

    db = str(tmp_path / "bad.duckdb")
    if case == "bert":
        call = lambda: lmbench.evaluate(_tiny_bert(), tokenizer=object(), db=db)  # noqa: E731
    elif case == "dict":
        call = lambda: lmbench.evaluate({"weights": 1}, db=db)  # noqa: E731
    elif case == "no_tokenizer":
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(tiny_llama)
        call = lambda: lmbench.evaluate(model, db=db)  # noqa: E731
    else:
        call = lambda: lmbench.evaluate(str(tiny_llama), db=db, limt=3)  # noqa: E731
    with pytest.raises(LmbenchError, match=match) as caught:
        call()
    assert "\n" not in str(caught.value)
    assert not Path(db).exists(), "bad input fails before the database is written"


def test_import_lmbench_stays_light() -> None:
    code = ("import sys, lmbench; assert callable(lmbench.Plan.run); "
            "print(sorted(m for m in ('torch', 'transformers', 'pandas') if m in sys.modules))")
    light = "import sys, lmbench; print(sorted(m for m in ('torch', 'transformers', 'pandas') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", light], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).returncode == 0
