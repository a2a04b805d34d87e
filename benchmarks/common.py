"""What the benchmarks share: equal warm-up and sample counts for every side, and the same statistics.

A comparison is only fair when both sides get the same treatment: :func:`repeat` warms a
measured callable up the same number of times before it counts, and every side of a comparison
is called through it with the same ``n``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def repeat(fn: Callable[[], T], n: int, warmup: int) -> list[T]:
    """``fn()``'s results for ``n`` calls after ``warmup`` uncounted calls (caches, JIT, pages)."""
    for _ in range(warmup):
        fn()
    return [fn() for _ in range(n)]


def stats_ms(samples: list[float]) -> dict[str, float]:
    """Median, 95th percentile and minimum of durations in seconds, in milliseconds."""
    ms = sorted(s * 1000 for s in samples)
    return {"median_ms": round(statistics.median(ms), 3), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 3),
            "min_ms": round(ms[0], 3), "samples": len(ms)}


def emit(result: dict[str, Any], as_json: bool) -> None:
    """Print a benchmark's result: one JSON object for ``--json`` (what ``report.py record``
    reads), else one aligned ``key: value`` line per field for a person."""
    if as_json:
        print(json.dumps(result))
        return
    width = max(map(len, result), default=0)
    for key, value in result.items():
        print(f"{key:>{width}}: {value}")
