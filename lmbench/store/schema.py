"""Tables of the results database and the migrations that build them.

Each migration is `(version, sql)`; `db.migrate` applies the ones newer than
the file's `schema_version` in order, each inside one transaction, and records
it. Never edit a released migration: append a new one and bump
`SCHEMA_VERSION`. Timestamps are UTC. JSON columns hold text written by
`json.dumps` (NaN and +-Infinity allowed), so floats round-trip exactly.

No foreign keys: DuckDB forbids updating a referenced row, which would break
upserts; `Store` checks references itself. No secondary indexes either: DuckDB
scans with zone maps, and ART indexes slow bulk upserts.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

RUN_STATUSES = ("running", "done", "failed", "interrupted")
FINAL_STATUSES = RUN_STATUSES[1:]

_V1 = f"""
CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY,
    applied_at TIMESTAMP NOT NULL
);
CREATE TABLE models (
    fingerprint VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,   -- hf_dir | hub | gguf | lora | delta ...
    kind        VARCHAR NOT NULL,
    revision    VARCHAR,
    dtype       VARCHAR NOT NULL,
    n_params    BIGINT,
    base_model  VARCHAR,            -- fingerprint or name of the base, if any
    lineage     JSON,               -- how it was made (recipe, parents, data)
    identity    JSON,               -- what the fingerprint hashes
    created_at  TIMESTAMP NOT NULL
);
CREATE TABLE tasks (
    task_hash  VARCHAR PRIMARY KEY, -- version + data file hashes + prompt
    name       VARCHAR NOT NULL,
    version    VARCHAR NOT NULL,
    family     VARCHAR NOT NULL,
    config     JSON,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE runs (
    run_id            VARCHAR PRIMARY KEY,
    model_fingerprint VARCHAR NOT NULL,
    status            VARCHAR NOT NULL CHECK (status IN {RUN_STATUSES!r}),
    config            JSON,
    seed              BIGINT,
    device            VARCHAR,
    versions          JSON,         -- package -> version
    git_sha           VARCHAR,
    command           VARCHAR,
    started_at        TIMESTAMP NOT NULL,
    finished_at       TIMESTAMP,
    timings           JSON,         -- phase -> seconds
    error             VARCHAR,
    pid               INTEGER,      -- writer process, to spot stale 'running'
    host              VARCHAR,
    updated_at        TIMESTAMP     -- heartbeat: last write for this run
);
CREATE TABLE results (
    run_id    VARCHAR NOT NULL,
    task      VARCHAR NOT NULL,
    task_hash VARCHAR,
    metric    VARCHAR NOT NULL,
    value     DOUBLE,
    stderr    DOUBLE,
    ci_low    DOUBLE,
    ci_high   DOUBLE,
    n         INTEGER,
    PRIMARY KEY (run_id, task, metric)
);
CREATE TABLE samples (
    run_id     VARCHAR NOT NULL,
    task       VARCHAR NOT NULL,
    task_hash  VARCHAR,
    doc_id     VARCHAR NOT NULL,
    doc_hash   VARCHAR,             -- with task_hash + model: the cache key
    prompt     VARCHAR,
    target     VARCHAR,
    prediction VARCHAR,
    choices    JSON,                -- list[str]
    logprobs   JSON,                -- list[float], one per choice/request
    metrics    JSON,                -- metric name -> float
    flagged    BOOLEAN,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, task, doc_id)
);
"""

MIGRATIONS: list[tuple[int, str]] = [(1, _V1)]

# Columns callers pass in DataFrames: (required, optional).
SAMPLE_COLUMNS = (
    ("task", "task_hash", "doc_id"),
    ("doc_hash", "prompt", "target", "prediction", "choices", "logprobs", "metrics", "flagged"),
)
RESULT_COLUMNS = (("task", "metric", "value"), ("task_hash", "stderr", "ci_low", "ci_high", "n"))

# Bulk upserts from a registered DataFrame `{view}`; parameters: run_id (, created_at).
# Last write wins per key; a sample keeps its first created_at.
SAMPLE_UPSERT = """
INSERT INTO samples (run_id, task, task_hash, doc_id, doc_hash, prompt, target, prediction,
                     choices, logprobs, metrics, flagged, created_at)
SELECT ?, task, task_hash, doc_id, doc_hash, prompt, target, prediction,
       choices, logprobs, metrics, CAST(flagged AS BOOLEAN), ? FROM {view}
ON CONFLICT (run_id, task, doc_id) DO UPDATE SET
    task_hash = excluded.task_hash, doc_hash = excluded.doc_hash, prompt = excluded.prompt,
    target = excluded.target, prediction = excluded.prediction, choices = excluded.choices,
    logprobs = excluded.logprobs, metrics = excluded.metrics, flagged = excluded.flagged
"""
RESULT_UPSERT = """
INSERT INTO results (run_id, task, task_hash, metric, value, stderr, ci_low, ci_high, n)
SELECT ?, task, task_hash, metric, CAST(value AS DOUBLE), CAST(stderr AS DOUBLE),
       CAST(ci_low AS DOUBLE), CAST(ci_high AS DOUBLE), CAST(n AS INTEGER) FROM {view}
ON CONFLICT (run_id, task, metric) DO UPDATE SET
    task_hash = excluded.task_hash, value = excluded.value, stderr = excluded.stderr,
    ci_low = excluded.ci_low, ci_high = excluded.ci_high, n = excluded.n
"""

# Columns parsed from JSON text when read back.
JSON_COLUMNS = {
    "models": ("lineage", "identity"),
    "tasks": ("config",),
    "runs": ("config", "versions", "timings"),
    "samples": ("choices", "logprobs", "metrics"),
}
