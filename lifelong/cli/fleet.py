"""What `lifelong explore --workers N` shows: one line per explorer's round and task, and the
fleet's lifecycle (started, restarted after a crash, failed with its reason, done).

The explorers run in other processes (or on other machines); the supervisor reads their event logs
and sends :class:`lifelong.minecraft.fleet.WorkerProgress` here, so this display is lines, not the
single explorer's live panel.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from lifelong.cli.common import console, err_console
from lifelong.events import Event
from lifelong.minecraft.events import BackendChosen, RunOpened


def is_fleet_run(options: Any, settings: Any) -> bool:
    """Whether ``--resume`` continues a fleet's run folder (it resumes as a fleet without --workers)."""
    from lifelong.minecraft.fleet import is_fleet
    from lifelong.minecraft.run import explore_run_dir

    if not options.resume:
        return False
    try:
        return is_fleet(explore_run_dir(options, settings))
    except FileNotFoundError:  # nothing to resume: run_explore says so
        return False


class FleetDisplay:
    """Prints the fleet's events as lines (``[w1 3/40] Craft 1 stick: success``)."""

    def __init__(self, iterations: int) -> None:
        self.iterations = iterations

    def __call__(self, event: Event) -> None:
        from lifelong.cli.explore import planner_note
        from lifelong.minecraft import fleet

        match event:
            case BackendChosen():
                planner_note(event)
            case RunOpened(path=path, resumed=resumed):
                console.print(f"{'resuming' if resumed else 'fleet run'} {path}")
            case fleet.FleetStarted(workers=n, executor=executor, address=address):
                where = f"on the Ray cluster at {address}" if executor == "ray" else "as local processes"
                console.print(f"{n} explorers {where}, sharing one skill library and curriculum memory")
            case fleet.WorkerStarted(worker=i, run_dir=run_dir):
                console.print(f"\\[w{i}] started in {run_dir}")
            case fleet.WorkerRestarted(worker=i, why=why, attempt=attempt):
                err_console.print(f"\\[w{i}] {why}; starting it again from its checkpoint (attempt {attempt})")
            case fleet.WorkerFailed(worker=i, error=error, released=released):
                note = f"; its task {', '.join(released)} is free for the others" if released else ""
                err_console.print(f"[bold red]\\[w{i}] failed[/]: {escape(error)}{note}; the other explorers go on",
                                  highlight=False)
            case fleet.WorkerDone(worker=i, iterations=iterations, unique_items=items, skills=skills):
                console.print(f"\\[w{i}] done: {iterations} iterations, {items} unique items, {skills} skills")
            case fleet.WorkerProgress(worker=i, record=record):
                self.progress(i, record)

    def progress(self, worker: int, record: dict[str, Any]) -> None:
        kind = record.get("event")
        if kind == "step":
            verdict = "success" if record.get("success") else "failed"
            new = ",".join(record.get("new_items") or []) or "-"
            console.print(f"\\[w{worker} {record.get('iteration')}/{self.iterations}] {record.get('task')} round "
                          f"{record.get('round')}: {verdict} new={new}", highlight=False)
        elif kind == "task_done":
            console.print(f"\\[w{worker}]   task '{record.get('task')}' {'done' if record.get('success') else 'failed'} "
                          f"skill={record.get('skill')}", highlight=False)

    def close(self) -> None:
        """Nothing to stop (the single explorer's panel has a live display)."""
