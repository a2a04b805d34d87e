"""Charts as SVG, drawn on the server with matplotlib (no JavaScript, nothing from a CDN).

The Minecraft chart is ``lifelong report``'s own (``metrics.plot``), so the page and the PNG that
``report`` writes never disagree. pyplot keeps global state, so charts are drawn one at a time;
each is cached by the caller until its run changes.
"""

from __future__ import annotations

import math
import tempfile
import threading
from pathlib import Path
from typing import Any

_lock = threading.Lock()
RC = {"svg.fonttype": "none", "svg.hashsalt": "lifelong", "font.size": 9}


def items_svg(report: dict[str, Any]) -> str:
    """Unique items over iterations with the tech-tree milestones, as in ``lifelong report``."""
    import matplotlib

    from lifelong.minecraft import metrics

    with _lock, matplotlib.rc_context(RC), tempfile.TemporaryDirectory() as tmp:
        return metrics.plot(report, Path(tmp) / "items.svg").read_text()


def curves_svg(curves: dict[str, list[float]], title: str, env_steps: int | None = None) -> str:
    """One small panel per curve (reward components, F, episode length) over training."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    names = list(curves) or ["(no curves recorded)"]
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    with _lock, matplotlib.rc_context(RC):
        fig = Figure(figsize=(3.2 * cols, 2.3 * rows + 0.4), dpi=100)
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, name in zip(axes.flat, names, strict=False):
            values = curves.get(name, [])
            n = len(values)
            xs = [(i + 1) / n * env_steps if env_steps else i for i in range(n)]
            ax.plot(xs, values, marker="o", markersize=3,
                    color="tab:red" if name.startswith("F:") else "tab:blue")
            ax.set_title(name, fontsize=9)
            ax.grid(alpha=0.3)
            ax.set_xlabel("env steps" if env_steps else "sample")
        for ax in list(axes.flat)[len(names):]:
            ax.set_visible(False)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        with tempfile.SpooledTemporaryFile(mode="w+") as out:
            fig.savefig(out, format="svg")
            out.seek(0)
            return out.read()
