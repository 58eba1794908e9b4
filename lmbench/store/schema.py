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

SCHEMA_VERSION = 2

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

# Schema 2: lineage edges, aliases, datasets, training runs and their logs. The schema 1 `models.lineage` /
# `base_model` (written for LoRA adapters) become edges where the parent is a known model: by
# `lineage.base_fingerprint`, else by a base name that names exactly one model. `schema_version.lmbench` records
# which lmbench applied each migration, so an older lmbench can say which version a newer file needs.
_V2 = f"""
ALTER TABLE schema_version ADD COLUMN lmbench VARCHAR;
CREATE TABLE lineage (
    child      VARCHAR NOT NULL,    -- fingerprint of the derived model
    parent     VARCHAR NOT NULL,    -- fingerprint of the model it was made from
    relation   VARCHAR NOT NULL,    -- lora | merge | sft | pretrain | raft | dpo | rlhf | reward | delta | dtype ...
    detail     JSON,                -- recipe, data hashes, step, ...
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (child, parent, relation)
);
CREATE TABLE model_aliases (
    fingerprint VARCHAR NOT NULL,
    alias       VARCHAR NOT NULL,   -- a later name of the model (its first stays models.name)
    first_seen  TIMESTAMP NOT NULL,
    PRIMARY KEY (fingerprint, alias)
);
CREATE TABLE datasets (
    content_hash VARCHAR PRIMARY KEY,
    name         VARCHAR NOT NULL,
    format       VARCHAR NOT NULL,  -- text_only | text2text | conversation | pairs | ...
    rows         BIGINT,
    path         VARCHAR,
    created_at   TIMESTAMP NOT NULL
);
CREATE TABLE training_runs (
    training_run_id       VARCHAR PRIMARY KEY,
    recipe                VARCHAR NOT NULL,
    recipe_hash           VARCHAR,
    config                JSON,
    base_fingerprint      VARCHAR,
    candidate_fingerprint VARCHAR,
    output_dir            VARCHAR,
    seed                  BIGINT,
    data_hashes           JSON,     -- list of datasets.content_hash
    status                VARCHAR NOT NULL CHECK (status IN {RUN_STATUSES!r}),
    versions              JSON,
    git_sha               VARCHAR,
    command               VARCHAR,
    started_at            TIMESTAMP NOT NULL,
    finished_at           TIMESTAMP,
    timings               JSON,
    error                 VARCHAR,
    pid                   INTEGER,
    host                  VARCHAR,
    updated_at            TIMESTAMP
);
CREATE TABLE train_log (
    training_run_id VARCHAR NOT NULL,
    step            BIGINT NOT NULL,
    metrics         JSON,           -- metric name -> value (loss, learning_rate, grad_norm, ...)
    logged_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (training_run_id, step)
);
INSERT INTO lineage (child, parent, relation, detail, created_at)
WITH wanted AS (
    SELECT fingerprint, kind, base_model, lineage, created_at,
           json_extract_string(lineage, '$.base_fingerprint') AS base_fingerprint
    FROM models WHERE base_model IS NOT NULL OR json_extract_string(lineage, '$.base_fingerprint') IS NOT NULL
), named AS (
    SELECT name, min(fingerprint) AS fingerprint FROM models GROUP BY name HAVING count(*) = 1
)
SELECT w.fingerprint, coalesce(b.fingerprint, n.fingerprint),
       CASE WHEN w.kind = 'lora' THEN 'lora' ELSE 'base' END,
       json_object('migrated_from', 'schema 1', 'base_model', w.base_model, 'lineage', w.lineage), w.created_at
FROM wanted w LEFT JOIN models b ON b.fingerprint = w.base_fingerprint LEFT JOIN named n ON n.name = w.base_model
WHERE coalesce(b.fingerprint, n.fingerprint) IS NOT NULL AND coalesce(b.fingerprint, n.fingerprint) <> w.fingerprint;
"""

MIGRATIONS: list[tuple[int, str]] = [(1, _V1), (2, _V2)]

# Edges known from the models' own records (a LoRA adapter names its base's fingerprint), added once both models
# are rows; run after every model upsert, so an adapter evaluated before its base gets its edge when the base comes.
DERIVED_EDGES = """
INSERT INTO lineage (child, parent, relation, detail, created_at)
SELECT c.fingerprint, p.fingerprint, CASE WHEN c.kind IN ('lora', 'delta') THEN c.kind ELSE 'base' END,
       json_object('base_model', c.base_model), ?
FROM models c JOIN models p ON p.fingerprint = json_extract_string(c.lineage, '$.base_fingerprint')
WHERE p.fingerprint <> c.fingerprint AND (c.fingerprint = ? OR p.fingerprint = ?)
ON CONFLICT DO NOTHING
"""

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
    "lineage": ("detail",),
    "training_runs": ("config", "data_hashes", "versions", "timings"),
    "train_log": ("metrics",),
}
