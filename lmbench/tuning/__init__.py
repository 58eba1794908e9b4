"""Tuning: recipes (YAML -> typed config) -> transformers/TRL trainers -> a candidate with lineage -> evaluation.

`registry.load_recipe(name_or_path, overrides)` validates a recipe; `registry.run_recipe(config)` runs it.
Built-in recipes live in `recipes/` (copies of the top-level `tuning/` folder). See README "Tuning".
"""

import logging

# bitsandbytes warns on import that an optional CPU kernel package is missing; nothing a user can act on.
logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
