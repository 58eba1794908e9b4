"""Peak memory and speed of `lmbench zoo apply-delta` vs the naive load-both-models-and-add recovery.

Setup (once, under --work): SmolLM2-135M-Instruct (float32) saved in shards (max_shard_size 100MB), a
target with a real change (noise of std 1e-3 added to every q_proj, up_proj and the embedding), the lmbench
delta (make-delta) and, for the baseline, a FastChat-style float delta: `target - base` in float32 saved as a
model. Each recovery then runs in its own fresh subprocess, which reports its own peak RSS (ru_maxrss):
  lmbench: apply_delta(base, delta, out)       streams tensor by tensor, verifies every sha256
  naive:   load base and delta models with transformers, add parameters, save_pretrained (FastChat's
           apply_delta.py without its low-CPU-memory mode; not exact in bfloat16, see tests/test_zoo_delta.py)
MB/s is the target's size over the recovery's wall time. Target: lmbench's peak RSS below half the naive one.
It also prints the zlib-compressed size (level 1) of both deltas.

    python benchmarks/delta_memory.py [--work /tmp/lmbench-delta-bench]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

LMBENCH = """
import resource, sys, time
from lmbench.zoo.apply import apply_delta
t = time.perf_counter()
apply_delta(sys.argv[1], sys.argv[2], sys.argv[3])
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
NAIVE = """
import resource, sys, time
import torch
from transformers import AutoModelForCausalLM
t = time.perf_counter()
base = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32)
delta = AutoModelForCausalLM.from_pretrained(sys.argv[2], dtype=torch.float32)
deltas = dict(delta.named_parameters())
with torch.no_grad():
    for name, param in base.named_parameters():
        param.add_(deltas[name])
base.save_pretrained(sys.argv[3], max_shard_size="100MB")
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def prepare(work: Path) -> dict[str, Path]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lmbench.models.default_model import default_model_dir
    from lmbench.zoo.delta import make_delta

    paths = {k: work / k for k in ("base", "target", "delta", "float_delta")}
    if all(p.exists() for p in paths.values()):
        return paths
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    source = default_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    model.save_pretrained(paths["base"], max_shard_size="100MB")
    tokenizer.save_pretrained(paths["base"])
    base_state = {k: v.clone() for k, v in model.state_dict().items()}
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if any(key in name for key in ("q_proj", "up_proj", "embed_tokens")):
                param.add_(torch.randn(param.shape, generator=generator) * 1e-3)
    model.save_pretrained(paths["target"], max_shard_size="100MB")
    tokenizer.save_pretrained(paths["target"])
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.sub_(base_state[name])
    model.save_pretrained(paths["float_delta"], max_shard_size="100MB")
    make_delta(str(paths["base"]), str(paths["target"]), paths["delta"])
    return paths


def run(script: str, *args: Path) -> tuple[float, float]:
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    seconds, rss_kb = done.stdout.split()[-2:]
    return float(seconds), float(rss_kb) / 1024


def compressed_mb(folder: Path) -> float:
    total = 0
    for shard in sorted(folder.glob("*.safetensors")):
        compressor = zlib.compressobj(1)
        with shard.open("rb") as handle:
            while chunk := handle.read(1 << 24):
                total += len(compressor.compress(chunk))
        total += len(compressor.flush())
    return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/lmbench-delta-bench"))
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare_only:
        prepare(args.work)
        return
    # Linux keeps a process's peak RSS across fork and exec: this process must stay small (no torch here),
    # so the setup runs in a subprocess and the measured children start from a small parent.
    subprocess.run([sys.executable, __file__, "--prepare-only", "--work", str(args.work)], check=True)
    paths = {k: args.work / k for k in ("base", "target", "delta", "float_delta")}
    size_mb = sum(p.stat().st_size for p in paths["target"].glob("*.safetensors")) / 1e6
    rows = {}
    for label, script, delta in (("lmbench apply-delta", LMBENCH, paths["delta"]), ("naive load-both-and-add", NAIVE, paths["float_delta"])):
        out = args.work / f"out-{label.split()[0]}"
        shutil.rmtree(out, ignore_errors=True)
        seconds, rss = run(script, paths["base"], delta, out)
        rows[label] = (rss, seconds, size_mb / seconds)
    from lmbench.zoo.manifest import file_sha256

    out = args.work / "out-lmbench"
    exact = all(file_sha256(out / f.name) == file_sha256(f) for f in paths["target"].glob("*.safetensors"))
    for label in rows:
        shutil.rmtree(args.work / f"out-{label.split()[0]}", ignore_errors=True)
    shards = len(list(paths["target"].glob("*.safetensors")))
    print(f"SmolLM2-135M-Instruct float32, {size_mb:.0f} MB in {shards} shards; lmbench output byte-identical: {exact}; "
          f"this process's own peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"{'method':<26}{'peak RSS MB':>12}{'seconds':>10}{'MB/s':>9}")
    for label, (rss, seconds, speed) in rows.items():
        print(f"{label:<26}{rss:>12.0f}{seconds:>10.1f}{speed:>9.0f}")
    (l_rss, l_s, l_speed), (n_rss, n_s, n_speed) = rows.values()
    print(f"{'ratio lmbench / naive':<26}{l_rss / n_rss:>12.2f}{l_s / n_s:>10.2f}{l_speed / n_speed:>9.2f}")
    print(f"zlib-1 compressed delta: bit-pattern {compressed_mb(paths['delta']):.0f} MB, "
          f"float32 difference {compressed_mb(paths['float_delta']):.0f} MB "
          f"(stored {json.loads((paths['delta'] / 'zoo_delta.json').read_text())['sizes']['delta_bytes'] / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
