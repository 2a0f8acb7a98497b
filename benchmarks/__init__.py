"""``python -m benchmarks``: signoff under load, each figure against a baseline from the same run."""
