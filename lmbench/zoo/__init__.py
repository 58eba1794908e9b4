"""The model zoo: exact deltas (make/apply), adapters, Hub publish/pull, model cards from the database.

A delta stores, per tensor, the difference of the target's and the base's integer bit patterns (wrapping
arithmetic), so recovery is bit-exact for every dtype; see `bits.py`. Everything streams tensor by tensor
from safetensors files (`tensorio.py`), so memory stays about one tensor, never two models.
"""
