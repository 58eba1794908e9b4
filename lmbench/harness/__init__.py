"""lm-evaluation-harness tasks run through lmbench's model loading, engine, cache and store.

`lm.LmbenchLM` is a harness model class whose three request kinds are served by lmbench's engine;
`task.HarnessTask` turns a harness task (built-in, or a YAML under --include-path) into lmbench
questions (one per harness document, with every request's exact arguments), so answers are cached,
resumed and stored per sample; `results` scores them with the harness's own filters, metrics and
aggregations. lm_eval is imported lazily: it costs about a second.
"""
