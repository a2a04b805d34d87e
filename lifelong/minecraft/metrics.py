"""Exploration metrics, computed from a run folder alone (so `lifelong report` works on any run).

Voyager's measures: unique items over prompting iterations, the tech-tree milestones (the first
iteration with a wooden, stone, iron and diamond tool), and distance travelled; plus what the run
cost, per role, from the LLM ledger. The world logs one ``step`` event per round with the inventory
and position after the program; everything here is derived from those events.
"""

from __future__ import annotations

import json
import math
import statistics
from itertools import pairwise
from pathlib import Path
from typing import Any

from lifelong.llm import LEDGER_FILE
from lifelong.minecraft.gamedata import tool_tier
from lifelong.runs import read_events

MILESTONES = {"wooden_tool": "wooden", "stone_tool": "stone", "iron_tool": "iron", "diamond_tool": "diamond"}


class Tracker:
    """Running totals kept by the world while it plays (and checkpointed with it)."""

    def __init__(self) -> None:
        self.first_seen: dict[str, int] = {}
        self.milestones: dict[str, int | None] = {k: None for k in MILESTONES}
        self.distance = 0.0
        self.last_position: dict[str, float] | None = None

    def update(self, iteration: int, inventory: dict[str, int], position: dict[str, float] | None) -> list[str]:
        """Account for one observation; returns the items seen for the first time."""
        new = [i for i in sorted(inventory) if inventory[i] > 0 and i not in self.first_seen]
        for item in new:
            self.first_seen[item] = iteration
        for key, tier in MILESTONES.items():
            if self.milestones[key] is None and any(tool_tier(i) == tier for i in inventory if inventory[i] > 0):
                self.milestones[key] = iteration
        if position and self.last_position:
            self.distance += math.dist([position[a] for a in "xyz"], [self.last_position[a] for a in "xyz"])
        if position:
            self.last_position = {a: float(position[a]) for a in "xyz"}
        return new

    def state_dict(self) -> dict[str, Any]:
        return {"first_seen": self.first_seen, "milestones": self.milestones,
                "distance": self.distance, "last_position": self.last_position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.first_seen = dict(state["first_seen"])
        self.milestones = dict(state["milestones"])
        self.distance = float(state["distance"])
        self.last_position = state.get("last_position")


def compute(run_path: Path) -> dict[str, Any]:
    """The report of a run: what the CLI prints and ``--json`` emits."""
    run_path = Path(run_path)
    if not (run_path / "events.jsonl").exists():
        raise FileNotFoundError(f"{run_path} is not a run folder (no events.jsonl); "
                                "pass the --run-dir of a `lifelong explore` run")
    if (run_path / "fleet.json").exists():  # `explore --workers N`: the explorers' runs, aggregated
        from lifelong.minecraft.fleet import fleet_metrics

        return fleet_metrics(run_path)
    steps: dict[int, dict[str, Any]] = {}
    skills: list[str] = []
    tasks: dict[str, list[str]] = {"completed": [], "failed": []}
    meta: dict[str, Any] = {}
    path: list[dict[str, float]] = []  # every position the bot reported, in order
    for e in read_events(run_path / "events.jsonl"):
        kind = e.get("event")
        if kind in ("step", "reset"):
            if e.get("position"):
                path.append(e["position"])
            if kind == "step":
                steps[int(e["iteration"])] = e  # a round redone after --resume replaces the lost one
        elif kind == "task_done":
            if e.get("skill") and e["skill"] not in skills:
                skills.append(e["skill"])
            tasks["completed" if e.get("success") else "failed"].append(e["task"])
        elif kind == "run_started":
            meta = {k: e.get(k) for k in ("llm", "curriculum", "seed")}
            meta["time_scale"] = e.get("time_scale", 1)
            meta["ablations"] = list(e.get("ablations") or [])  # runs before the ablations had none
            meta["world_style"] = e.get("world_style") or "grove"
    tracker = Tracker()
    curve = []
    for iteration in sorted(steps):
        e = steps[iteration]
        tracker.update(iteration, e.get("inventory") or {}, None)
        curve.append([iteration, len(tracker.first_seen)])
    tracker.distance = sum(math.dist([a[k] for k in "xyz"], [b[k] for k in "xyz"])
                           for a, b in pairwise(path))
    ledger = _ledger(run_path)
    unique = sorted(tracker.first_seen, key=lambda i: (tracker.first_seen[i], i))
    return {
        "run": str(run_path),
        "ablations": [], "world_style": "grove",  # what a run without these fields had
        **meta,
        "iterations": max(steps) if steps else 0,
        "unique_items": unique,
        "unique_items_count": len(unique),
        "items_over_iterations": curve,
        "first_seen": tracker.first_seen,
        "milestones": tracker.milestones,
        "skills_learned": len(skills),
        "skills": skills,
        "tasks_completed": tasks["completed"],
        "tasks_failed": tasks["failed"],
        "distance": round(tracker.distance, 1),
        "tokens": ledger.get("tokens", 0),
        "cost_usd": ledger.get("cost_usd", 0.0),
        "tokens_by_role": {r: u.get("prompt_tokens", 0) + u.get("completion_tokens", 0)
                           for r, u in ledger.get("roles", {}).items()},
        "cost_by_role": {r: round(u.get("cost_usd", 0.0), 6) for r, u in ledger.get("roles", {}).items()},
        "calls_by_role": {r: u.get("calls", 0) for r, u in ledger.get("roles", {}).items()},
        "tick_rate": tick_rate(list(steps.values()), meta.get("time_scale") or 1),
    }


def tick_rate(steps: list[dict[str, Any]], time_scale: float) -> dict[str, Any]:
    """The time scale of a run and the tick rates its rounds reached (medians: a run at K that fell
    behind shows here)."""

    def median(key: str) -> float | None:
        values = [float(e[key]) for e in steps if e.get(key) is not None]
        return round(statistics.median(values), 1) if values else None

    scale = float(time_scale)
    return {"time_scale": scale, "target_ticks_per_s": 20 * scale, "bot_ticks_per_s": median("ticks_per_s"),
            "server_ticks_per_s": median("server_ticks_per_s"),
            "env_s": round(sum(float(e.get("env_s") or 0) for e in steps), 1)}


def tick_rate_line(report: dict[str, Any]) -> str | None:
    """``time scale 4: ticks/s reached world 79.6, bot 80 of 80`` (with a warning when short), or None at 1."""
    rate = report.get("tick_rate") or {}
    if float(rate.get("time_scale") or 1) == 1:
        return None
    line = (f"time scale {rate['time_scale']:g}: ticks/s reached (median over rounds) world "
            f"{rate['server_ticks_per_s']}, bot {rate['bot_ticks_per_s']} of {rate['target_ticks_per_s']:g}")
    reached = [r for r in (rate["server_ticks_per_s"], rate["bot_ticks_per_s"]) if r is not None]
    if reached and min(reached) < 0.9 * rate["target_ticks_per_s"]:
        line += (f"; warning: this machine did not hold it (about {min(reached) / 20:.2f}x real time): "
                 "use a smaller --time-scale or free some CPU")
    return line


def setup_line(report: dict[str, Any]) -> str:
    """What a run was: its back end (the planner says it is not an LLM), curriculum, ablations and
    world style, for every table and figure of it."""
    llm = str(report.get("llm") or "unknown back end")
    ablations = ", ".join(report.get("ablations") or []) or "none"
    return (f"{llm}; curriculum {report.get('curriculum') or 'auto'}; ablations {ablations}; "
            f"world {report.get('world_style') or 'grove'}")


def _ledger(run_path: Path) -> dict[str, Any]:
    path = run_path / LEDGER_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def plot(report: dict[str, Any], out: Path) -> Path:
    """Unique items vs iterations, with the milestones marked; written as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    curve = report["items_over_iterations"]
    xs = [0] + [c[0] for c in curve]
    ys = [0] + [c[1] for c in curve]
    ax.step(xs, ys, where="post", color="tab:blue", label="unique items")
    for (key, it), color in zip(report["milestones"].items(), ("peru", "gray", "silver", "deepskyblue"),
                                strict=True):
        if it is not None:
            ax.axvline(it, color=color, linestyle="--", linewidth=1)
            ax.annotate(key.replace("_", " "), (it, max(ys) * 0.05 + 0.2), rotation=90, fontsize=8)
    ax.set_xlabel("prompting iterations")
    ax.set_ylabel("unique items")
    ax.set_title(f"{Path(report['run']).name}: {report['unique_items_count']} items, "
                 f"{report['skills_learned']} skills\n{setup_line(report)}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
