"""Pure functions: per-sample scores and their aggregates."""
