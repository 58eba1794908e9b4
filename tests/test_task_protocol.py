"""The task protocol: a family written inside this test runs through `lmbench eval` with no change to the
runner, scoring or CLI; one plan prepares its tasks once for a loop of checkpoints; the run's seed reaches
the bootstrap CIs; the harness bridge depends on lmbench.tasks, never the reverse."""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lmbench.engine.requests import LoglikelihoodRequest
from lmbench.tasks.base import TaskData
from lmbench.tasks.protocol import PreparedTask, ResultRow, SampleRecord, TaskFamily, stable_hash, task_samples

# ---- a new family, one module's worth of code: does the model prefer the longer of two strings? ----------
PAIRS = [("heart", "heart and blood"), ("the cell", "cell"), ("drug dose", "the drug dose of a patient"),
         ("bone", "bone and muscle"), ("gene protein", "gene"), ("brain", "the brain of the patient")]
LOADS: list[str] = []  # one entry per `load` call: how often the family read its data


@dataclass(frozen=True)
class PairDoc:
    doc_id: str
    short: str
    long: str

    @property
    def doc_hash(self) -> str:
        return stable_hash({"short": self.short, "long": self.long})


@dataclass(frozen=True)
class LongerPairs(TaskFamily):
    name: str
    version: str = "1"
    family: str = "longer_pairs"
    template: str = "Text:"
    description: str = ""
    citation: str = ""
    default_shots: int = 0

    metrics: ClassVar[tuple[str, ...]] = ("prefers_longer", "margin")

    def load(self, root: Path | None) -> TaskData:
        LOADS.append(self.name)
        docs = [PairDoc(str(i), *(sorted(p, key=len))) for i, p in enumerate(PAIRS)]
        return TaskData(docs, [], [])  # type: ignore[arg-type]

    def prompt(self, doc: PairDoc, shot_docs: list) -> str:
        return self.template

    def requests(self, prompt: str, doc: PairDoc) -> list[LoglikelihoodRequest]:
        return [LoglikelihoodRequest(prompt, " " + doc.short), LoglikelihoodRequest(prompt, " " + doc.long)]

    def task_hash(self, data: TaskData, shots: int, file_digests: dict[str, str]) -> str:
        return stable_hash({"name": self.name, "version": self.version, "template": self.template,
                            "data": file_digests})

    def score(self, item: PreparedTask, docs: list, prompts: list[str], outputs: list[list[Any]],
              ctx: Any) -> list[SampleRecord]:
        return [self.record(item, doc, prompt, target=doc.long, prediction=doc.long if b.logprob > a.logprob
                            else doc.short, choices=[doc.short, doc.long], logprobs=[a.logprob, b.logprob],
                            metrics={"prefers_longer": float(b.logprob > a.logprob), "margin": b.logprob - a.logprob})
                for doc, prompt, (a, b) in zip(docs, prompts, outputs)]

    def aggregate(self, items: list[PreparedTask], samples: Any, seed: int) -> list[ResultRow]:
        rows = []
        for item in items:
            metrics = list(task_samples(samples, item.task.name)["metrics"])
            for metric in self.metrics:
                values = [m[metric] for m in metrics]
                rows.append(ResultRow(item.task.name, metric, sum(values) / len(values), n=len(values),
                                      task_hash=item.task_hash))
        return rows


@pytest.fixture(scope="module")
def longer_task() -> str:
    from lmbench.tasks.registry import register, task_names

    if "test_longer_pairs" not in task_names():
        register(LongerPairs(name="test_longer_pairs"))
    return "test_longer_pairs"
# ---- end of the family -----------------------------------------------------------------------------------


def _expected(folder: Path) -> dict[str, float]:
    """The family's metrics recomputed from the engine directly, without lmbench's runner."""
    from lmbench.engine.loglikelihood import LoglikelihoodEngine
    from lmbench.models.loader import load_model

    lm = load_model(str(folder))
    engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, progress=False)
    prefers, margins = [], []
    for pair in PAIRS:
        short, long = sorted(pair, key=len)
        a, b = engine.run([LoglikelihoodRequest("Text:", " " + short), LoglikelihoodRequest("Text:", " " + long)])
        prefers.append(float(b.logprob > a.logprob))
        margins.append(b.logprob - a.logprob)
    return {"prefers_longer": sum(prefers) / len(prefers), "margin": sum(margins) / len(margins)}


def test_a_family_registered_in_the_test_runs_through_lmbench_eval(longer_task: str, tiny_llama: Path,
                                                                    tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import lmbench.api as lb
    from lmbench.cli.app import app
    from lmbench.leaderboards.metric_names import expected_metrics

    db = tmp_path / "r.duckdb"
    done = CliRunner().invoke(app, ["eval", str(tiny_llama), "--tasks", longer_task, "--db", str(db), "--no-progress"])
    assert done.exit_code == 0, done.output
    assert "prefers_longer" in done.output
    stored = lb.results(db, task=longer_task).set_index("metric")["value"].to_dict()
    expected = _expected(tiny_llama)
    assert set(stored) == {"prefers_longer", "margin"}
    assert stored["prefers_longer"] == expected["prefers_longer"]
    assert stored["margin"] == pytest.approx(expected["margin"], abs=1e-4)  # batched differently: float noise
    samples = lb.samples(db, task=longer_task)
    assert len(samples) == len(PAIRS) and set(samples["target"]) == {max(p, key=len) for p in PAIRS}
    assert expected_metrics(longer_task) == ("prefers_longer", "margin")  # the leaderboards read the declaration


def test_one_plan_prepares_once_for_five_checkpoints(longer_task: str, tmp_path: Path) -> None:
    import lmbench
    from tiny import build_tiny_model

    folders = [build_tiny_model(tmp_path / f"ckpt{i}", seed=10 + i) for i in range(5)]
    before = LOADS.count(longer_task)
    t0 = time.perf_counter()
    plan = lmbench.Plan(f"{longer_task},lmbench_sample", db=str(tmp_path / "loop.duckdb"), progress=False)
    prepare_s = time.perf_counter() - t0
    seconds, fingerprints = [], set()
    for folder in folders:
        t1 = time.perf_counter()
        outcome = plan.run(str(folder))
        seconds.append(time.perf_counter() - t1)
        fingerprints.add(outcome.fingerprint)
        assert outcome.status == "done" and outcome.reused == 0 and outcome.computed == len(PAIRS) + 24
        assert set(outcome.results["task"]) == {longer_task, "lmbench_sample"}
    assert LOADS.count(longer_task) - before == 1, "the plan must read each task's data once, not per checkpoint"
    assert len(fingerprints) == 5
    print(f"\nplan prepare {prepare_s:.2f} s; per checkpoint (s): {', '.join(f'{s:.2f}' for s in seconds)}")


def test_the_runs_seed_reaches_the_bootstrap_ci(tiny_llama: Path, tmp_path: Path) -> None:
    import lmbench
    from lmbench.metrics.stats import bootstrap_ci

    db = str(tmp_path / "s.duckdb")
    first = lmbench.Plan("lmbench_sample", db=db, progress=False, seed=1234).run(str(tiny_llama))
    values = [m["acc_norm"] for m in first.samples["metrics"]]
    seed = next(s for s in range(1, 200) if bootstrap_ci(values, seed=s) != bootstrap_ci(values, seed=1234))
    second = lmbench.Plan("lmbench_sample", db=db, progress=False, seed=seed).run(str(tiny_llama))
    assert second.reused == 24 and second.status == "done", "answers are reused; only the CI changes"
    for outcome, run_seed in ((first, 1234), (second, seed)):
        row = outcome.results.set_index("metric").loc["acc_norm"]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(bootstrap_ci(values, seed=run_seed))


def _code_strings_and_kinds(tree: ast.AST) -> tuple[set[str], int]:
    """String constants outside docstrings, and how many `.kind` reads are not `<x>.source.kind`."""
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
               and id(n) not in docstrings}
    kinds = sum(1 for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "kind"
                and not (isinstance(n.value, ast.Attribute) and n.value.attr == "source"))
    return strings, kinds


def test_no_family_names_or_kind_branches_in_the_runner_and_the_bridge_depends_on_tasks() -> None:
    root = Path(__file__).resolve().parents[1] / "lmbench"
    families = ("harness", "lm_eval", "hh_rlhf", "nll", "rolling", "mmlu", "generate", "choice", "gen", "ppl")
    for module in ("runner.py", "plan.py", "execute.py", "scoring.py", "tasks/prepare.py"):
        strings, kinds = _code_strings_and_kinds(ast.parse((root / module).read_text()))
        assert kinds == 0, f"{module} reads a task's kind"
        named = sorted(s for s in strings if s.rstrip(":") in families or s.startswith(("lm_eval:", "hh_rlhf")))
        assert not named, f"{module} names families {named}"
    for path in (root / "tasks").glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.startswith("lmbench.harness")], path.name
