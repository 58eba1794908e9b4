"""The store and the leaderboards never import a computing package: not on import, not in a lazily imported
module, not while building a leaderboard (DESIGN.md: the store imports none; leaderboards never run a model)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "transformers", "peft", "trl", "deepspeed", "bitsandbytes", "accelerate", "lm_eval", "datasets")

# Records every import of a HEAVY package attempted in the process (found or not, caught or not).
GUARD = """
import importlib, json, pkgutil, sys
from pathlib import Path
HEAVY = {heavy!r}
tried = []
class Recorder:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            tried.append(name)
        return None
sys.meta_path.insert(0, Recorder())
import lmbench.store, lmbench.leaderboards
modules = []
for pkg in (lmbench.store, lmbench.leaderboards):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(info.name)
        modules.append(info.name)
{work}
print(json.dumps({{"modules": modules, "tried": sorted(set(tried)),
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)}}))
"""


def _guarded(work: str = "") -> dict:
    code = GUARD.format(heavy=HEAVY, work=work)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parent)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_store_and_leaderboard_module_imports_no_computing_package():
    out = _guarded()
    for name in ("lmbench.store.queries", "lmbench.store.cache", "lmbench.store.harness_io",
                 "lmbench.leaderboards.significance", "lmbench.leaderboards.plots", "lmbench.leaderboards.render_html"):
        assert name in out["modules"], f"{name} was not imported by the walk"
    assert out["tried"] == [] and out["loaded"] == [], out


def test_building_leaderboards_imports_no_computing_package(tmp_path):
    from test_leaderboard import SPEC, build_db

    db = build_db(tmp_path / "board.duckdb")
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    work = f"""
from lmbench.leaderboards import build_report, builtin_names, load_spec, write_report
from lmbench.store import Store
with Store({str(db)!r}, read_only=True) as store:  # a board with runs, CIs, significance, lineage, plots
    store.runs()
    write_report(build_report(store, load_spec({str(spec)!r})), Path({str(tmp_path)!r}) / "out0")
with Store({str(tmp_path / "empty.duckdb")!r}) as store:  # every built-in spec (no runs yet)
    for name in builtin_names():
        write_report(build_report(store, load_spec(name)), Path({str(tmp_path)!r}) / name)
"""
    out = _guarded(work)
    assert (tmp_path / "out0" / "index.html").is_file() and (tmp_path / "out0" / "README.md").is_file()
    assert out["tried"] == [] and out["loaded"] == [], out
