"""Run the lmbench CLI in a subprocess, offline, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})}
    full_env.pop("LMBENCH_DATA", None)
    return subprocess.run([sys.executable, "-m", "lmbench", *args], capture_output=True, text=True, env=full_env,
                          timeout=600)
