"""The accepted --dtype and --device values (kept torch-free so options are checked instantly)."""

DTYPES = ("auto", "float32", "bfloat16", "float16")
DEVICES = ("auto", "cpu", "cuda")
