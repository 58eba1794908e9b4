"""Parity with lm-evaluation-harness: same prompts, same per-choice log-likelihoods, same predictions.

The harness side is the installed lm_eval with HFLM and its own task YAMLs pointed at the same local files
(lmbench.parity.harness_reference). Tiny model here; the real SmolLM2 in the slow tier.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lmbench.runner import EvalConfig, evaluate

TASKS = {"mmlu_anatomy": 5, "medmcqa": 0, "pubmedqa": 0}
LIMIT = 50
TOLERANCE = 1e-4


def assert_samples_match(task: str, ours, theirs, n: int) -> float:
    """Per sample: the same prompt, the same choice log-likelihoods, the same prediction; then the same acc."""
    ours = ours[ours["task"] == task].reset_index(drop=True)
    assert len(ours) == len(theirs.samples) == n
    worst = 0.0
    for ref, (_, row) in zip(theirs.samples, ours.iterrows()):
        assert row["prompt"] == ref.prompt, f"{task} doc {ref.doc_index}: prompts differ"
        diffs = [abs(a - b) for a, b in zip(row["logprobs"], ref.loglikelihoods)]
        assert len(row["logprobs"]) == len(ref.loglikelihoods)
        worst = max(worst, *diffs)
        assert max(diffs) < TOLERANCE, f"{task} doc {ref.doc_index}: {row['logprobs']} vs {ref.loglikelihoods}"
        assert row["prediction"] == row["choices"][ref.pred], f"{task} doc {ref.doc_index}: predictions differ"
    assert ours["metrics"].map(lambda m: m["acc"]).mean() == pytest.approx(theirs.metrics["acc"])
    assert ours["metrics"].map(lambda m: m["acc_norm"]).mean() == pytest.approx(theirs.metrics["acc_norm"])
    return worst


def assert_parity(model_dir: Path, data: Path, db: Path, harness_batch: int) -> float:
    from lmbench.parity.harness_reference import run_harness

    outcome = evaluate(EvalConfig(checkpoint=str(model_dir), tasks=",".join(TASKS), limit=LIMIT, data_dir=str(data),
                                  db=str(db), progress=False))
    worst = 0.0
    for task, shots in TASKS.items():
        theirs = run_harness(str(model_dir), task, data, shots=shots, limit=LIMIT, batch_size=harness_batch)
        worst = max(worst, assert_samples_match(task, outcome.samples, theirs, LIMIT))
    return worst


def test_parity_with_lm_eval_tiny_model(tiny_llama, shared_data, tmp_path):
    worst = assert_parity(tiny_llama, shared_data, tmp_path / "parity.duckdb", harness_batch=8)
    print(f"largest |logprob difference| lmbench vs lm-eval (tiny llama): {worst:.2e}")


@pytest.mark.slow
def test_parity_with_lm_eval_smollm2(smollm2_dir, shared_data, tmp_path):
    worst = assert_parity(smollm2_dir, shared_data, tmp_path / "parity.duckdb", harness_batch=8)
    print(f"largest |logprob difference| lmbench vs lm-eval (SmolLM2-135M-Instruct): {worst:.2e}")


WORDS = "cell protein gene blood heart brain muscle bone nerve drug dose patient disease therapy".split()


def _question(i: int) -> str:
    return f"A patient {i} has {WORDS[i % 14]} and {WORDS[(3 * i) % 14]} problems. Which {WORDS[(5 * i) % 14]} is it?"


def test_parity_medqa(tiny_llama, tmp_path):
    """MedQA 4-option: synthetic rows in medqa/test.jsonl, the harness's own medqa YAML on them."""
    import json

    from lmbench.parity.harness_reference import run_harness

    (tmp_path / "medqa").mkdir()
    rows = [{"question": _question(i), "answer_idx": "ABCD"[i % 4],
             "options": {k: f"{WORDS[(i + j) % 14]} {WORDS[(2 * i + j) % 14]}" for j, k in enumerate("ABCD")}}
            for i in range(12)]
    (tmp_path / "medqa/test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    outcome = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="medqa", data_dir=str(tmp_path),
                                  db=str(tmp_path / "p.duckdb"), progress=False))
    theirs = run_harness(str(tiny_llama), "medqa", tmp_path, shots=0, batch_size=4)
    assert_samples_match("medqa", outcome.samples, theirs, 12)


MCQ_YAML = """
task: lmbench_mcq_parity
dataset_path: json
dataset_name: null
dataset_kwargs: {{data_files: {{test: "{data}"}}, cache_dir: "{cache}"}}
output_type: multiple_choice
test_split: test
fewshot_split: test
fewshot_config: {{sampler: first_n}}
doc_to_text: "Question: {{{{ question.strip() }}}}\\n{{% for c in choices %}}{{{{ 'ABCDEFGH'[loop.index0] }}}}. {{{{ c }}}}\\n{{% endfor %}}Answer:"
doc_to_choice: "{{{{ ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'][:choices | length] }}}}"
doc_to_target: answer
target_delimiter: " "
fewshot_delimiter: "\\n\\n"
metric_list:
  - {{metric: acc, aggregation: mean, higher_is_better: true}}
  - {{metric: acc_norm, aggregation: mean, higher_is_better: true}}
"""


def test_parity_mcq_file_with_shots(tiny_llama, tmp_path):
    """`mcq:FILE` (3 to 5 options, two shots from the same file, the question itself excluded) against a harness
    YAML written here: the harness's first_n sampler over the same split."""
    import json

    from lmbench.parity.harness_reference import run_harness_yaml

    rows = [{"id": f"q{i}", "question": f" {_question(i)} ", "answer": i % (3 + i % 3),
             "choices": [f"{WORDS[(i + j) % 14]} {WORDS[(3 * i + j) % 14]}" for j in range(3 + i % 3)]}
            for i in range(10)]
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks/mcq.yaml").write_text(MCQ_YAML.format(data=data, cache=tmp_path / "hf_cache"))
    outcome = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks=f"mcq:{data}", shots=2,
                                  db=str(tmp_path / "p.duckdb"), progress=False))
    theirs = run_harness_yaml(str(tiny_llama), "lmbench_mcq_parity", tmp_path / "tasks", shots=2, batch_size=4)
    samples = outcome.samples.assign(task=outcome.samples["task"].replace(f"mcq:{data}", "lmbench_mcq_parity"))
    assert_samples_match("lmbench_mcq_parity", samples, theirs, 10)
    assert theirs.samples[0].prompt.count("Answer:") == 3, "two shots, then the question"
