"""Long-running processes keep their import-time heap out of the garbage collector."""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Keep the ~200k objects of the imports (temporalio, the agents SDK, pydantic) out of GC.

    Otherwise every full collection walks them all: ≈ 190 ms with the process stopped, which
    under load came every few hundred requests or workflow tasks. Call once everything is
    imported and built, before serving.
    """
    gc.collect()
    gc.freeze()
