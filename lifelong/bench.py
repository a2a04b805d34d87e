"""Benchmark plumbing any world uses: runs in parallel and resumable, the cores they used, the statistics.

A benchmark is many runs, each one a command (its own process and run folder, so a run that crashes
costs only itself and no run's result depends on another's). A world says what its runs are, as
specs (dataclasses with a ``name``), and how a spec becomes a command; :func:`run_specs` does the
rest: ``workers`` at a time (by default one per core this process may use), resuming, collecting
failures, measuring the cores. Minecraft's curriculum grid (:mod:`lifelong.minecraft.bench`) is
built on it; Eureka's task benchmark (:mod:`lifelong.robotics.bench`) uses the sizes and records.

Resuming is the run folder's business: a run whose ``bench_run.json`` says it finished the
iterations asked for is skipped, one that started and stopped (a checkpoint or events in its
folder) gets its command with ``resume``, one that never started starts. A failed run is reported
with the last lines of its stderr and the others go on; its folder is kept, so the next call
resumes it. A runner killed outright takes its runs with it (:func:`die_with_parent`).

Also here: the notebooks' sizes (``$LIFELONG_BENCH_SIZE``), mean ± Student's t interval across
seeds, and a full-size result's record (data, commit, date, wall time) kept next to its notebook.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lifelong.host import default_workers, git_commit
from lifelong.runs import CHECKPOINT_FILE, EVENTS_FILE, atomic_write_json

DONE_FILE = "bench_run.json"     # written by the runner when a run's command exited 0
SPENT_FILE = "bench_spent.json"  # a run's wall time so far over all calls (kept up while it runs)
SPENT_EVERY_S = 30.0             # how often; a runner killed outright loses at most this much
STDERR_LINES = 12                # how much of a failed run's stderr its failure reason quotes
SIZES = ("small", "full")
SIZE_ENV = "LIFELONG_BENCH_SIZE"

# A spec (a dataclass with a ``name``), its run folder and whether to resume -> the run's command.
Command = Callable[[Any, Path, bool], list[str]]


class BenchError(ValueError):
    """A benchmark that cannot run as given; the message says what is wrong and what is valid."""


def bench_size(default: str = "small") -> str:
    """``$LIFELONG_BENCH_SIZE`` (small or full), checked."""
    size = os.environ.get(SIZE_ENV, default) or default
    if size not in SIZES:
        raise BenchError(f"{SIZE_ENV}={size!r} is not a size: use one of {', '.join(SIZES)}")
    return size


def lifelong_argv() -> list[str]:
    """How to start the ``lifelong`` command with this interpreter (and so this checkout)."""
    return [sys.executable, "-c", "from lifelong.cli import main; main()"]


# ---- the runner -----------------------------------------------------------------------------

@dataclass
class Outcome:
    """What became of one run in this call: done (now), skipped (done before) or failed (why).
    ``wall_s`` is the run's own wall time over every call that worked on it (a resumed run's
    earlier calls included; a skipped run's from when it was done)."""

    run: str
    status: str
    wall_s: float = 0.0
    resumed: bool = False
    reason: str = ""


@dataclass
class GridResult:
    outcomes: list[Outcome]
    wall_s: float
    workers: int
    utilisation: dict[str, float] = field(default_factory=dict)

    @property
    def runs_wall_s(self) -> float:
        """The finished runs' own wall times summed: the grid's cost however many calls it took
        (``wall_s`` is this call's alone, and a call that only skips finished runs takes none)."""
        return round(sum(o.wall_s for o in self.outcomes if o.status in ("done", "skipped")), 1)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def failure_report(self) -> str:
        """Which runs failed and why (their stderr's last lines), or '' when none did."""
        return "\n".join(f"run {o.run} failed: {o.reason}" for o in self.failures)


def is_done(run_dir: Path, iterations: int) -> bool:
    """A run finished when its command exited 0 for at least ``iterations`` iterations."""
    path = run_dir / DONE_FILE
    return path.exists() and int(json.loads(path.read_text()).get("iterations", 0)) >= iterations


def done_wall_s(run_dir: Path) -> float:
    """The wall time a finished run took, over all its calls."""
    return float(json.loads((run_dir / DONE_FILE).read_text()).get("wall_s", 0.0))


def has_started(run_dir: Path) -> bool:
    return (run_dir / CHECKPOINT_FILE).exists() or (run_dir / EVENTS_FILE).exists()


def _tail(path: Path, lines: int = STDERR_LINES) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.strip().splitlines()[-lines:]) or "(no output on stderr)"


def die_with_parent(cmd: list[str]) -> list[str]:
    """``cmd`` run so that it gets SIGTERM when the runner dies (a notebook kernel killed, a kill -9):
    no run goes on without an owner; ``lifelong explore`` stops its server on SIGTERM, and the next
    call resumes the run. util-linux's ``setpriv --pdeathsig`` (Linux's PR_SET_PDEATHSIG, kept
    across exec), where it exists; otherwise the command as it is."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *cmd] if setpriv and sys.platform.startswith("linux") else cmd


class _Running:
    """One run's subprocess, its output files and its clock."""

    def __init__(self, spec: Any, run_dir: Path, cmd: list[str], resumed: bool, env: dict[str, str]) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.spec, self.run_dir, self.cmd, self.resumed = spec, run_dir, cmd, resumed
        spent = run_dir / SPENT_FILE
        self.before = float(json.loads(spent.read_text())["wall_s"]) if resumed and spent.exists() else 0.0
        self.t0 = self.noted = time.perf_counter()
        with (run_dir / "bench.stdout").open("wb") as out, (run_dir / "bench.stderr").open("wb") as err:
            self.proc = subprocess.Popen(die_with_parent(cmd), stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, env=env)

    def spent(self) -> float:
        """This run's wall time over all calls so far; written down, so a later call adds to it."""
        self.noted = time.perf_counter()
        wall = round(self.before + self.noted - self.t0, 1)
        atomic_write_json(self.run_dir / SPENT_FILE, {"wall_s": wall})
        return wall

    def finish(self, iterations: int) -> Outcome:
        wall = self.spent()
        if self.proc.returncode != 0:
            return Outcome(self.spec.name, "failed", wall, self.resumed,
                           f"exit {self.proc.returncode}\n{_tail(self.run_dir / 'bench.stderr')}")
        atomic_write_json(self.run_dir / DONE_FILE, {"iterations": iterations, "wall_s": wall,
                                                     "command": self.cmd, **asdict(self.spec)})
        return Outcome(self.spec.name, "done", wall, self.resumed)


def run_specs(specs: Sequence[Any], runs: Path, command: Command, iterations: int, workers: int | None = None,
              on_outcome: Callable[[Outcome], None] | None = None, env: dict[str, str] | None = None,
              poll_s: float = 0.2) -> GridResult:
    """Run every unfinished spec's ``command(spec, runs / spec.name, resume)`` for ``iterations``
    iterations, ``workers`` at a time. Failures are collected, never raised: the others' results
    stand. The result says how busy the machine was and how many cores the runs used."""
    runs = Path(runs)
    workers = workers or default_workers()
    env = {**os.environ, **(env or {})}
    pending = list(specs)
    outcomes: list[Outcome] = []
    running: list[_Running] = []
    t0, (busy0, total0), child0 = time.perf_counter(), cpu_times(), _children_cpu()
    meter, next_sample = CpuMeter(runs), 0.0

    def report(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)

    try:
        while pending or running:
            while pending and len(running) < workers:
                spec = pending.pop(0)
                run_dir = runs / spec.name
                if is_done(run_dir, iterations):
                    report(Outcome(spec.name, "skipped", done_wall_s(run_dir)))
                    continue
                resume = has_started(run_dir)
                running.append(_Running(spec, run_dir, command(spec, run_dir, resume), resume, env))
            time.sleep(poll_s)
            if time.perf_counter() >= next_sample:
                meter.sample()
                next_sample = time.perf_counter() + 2.0
            for job in [j for j in running if time.perf_counter() - j.noted >= SPENT_EVERY_S]:
                job.spent()
            for job in [j for j in running if j.proc.poll() is not None]:
                running.remove(job)
                report(job.finish(iterations))
    finally:
        _stop(running)
    wall = time.perf_counter() - t0
    busy1, total1 = cpu_times()
    cores = os.cpu_count() or 1
    utilisation = {"machine_busy": round((busy1 - busy0) / max(total1 - total0, 1e-9), 3),
                   "grid_cores": round((_children_cpu() - child0 + meter.seconds) / max(wall, 1e-9), 2),
                   "workers": workers, "cores": cores}
    return GridResult(outcomes, round(wall, 1), workers, utilisation)


def _stop(running: list[_Running], grace_s: float = 30.0) -> None:
    """On Ctrl-C or an error: SIGTERM each run still going (``lifelong explore`` then stops its own
    server through its finally blocks) and wait for it; a later call resumes them."""
    for job in running:
        job.proc.terminate()
        job.spent()
    deadline = time.monotonic() + grace_s
    for job in running:
        try:
            job.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            job.proc.kill()
            job.proc.wait()


# ---- the cores the runs used ----------------------------------------------------------------

def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of every core from /proc/stat, for the machine's utilisation."""
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (and theirs, when they waited for them)."""
    t = os.times()
    return t.children_user + t.children_system


class CpuMeter:
    """CPU seconds of the processes a grid started that left its process tree: the embedded
    servers detach from the run that started them, so the runner's children's times
    (``os.times``) miss them. Found by their command line, which names the runs folder; sampled
    from /proc every 2 s (a server's last seconds can be missed). Elsewhere than Linux, 0."""

    def __init__(self, runs: Path) -> None:
        self.marker = str(Path(runs).resolve())
        self.seen: dict[int, float] = {}
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.root = os.getpid()

    def sample(self) -> None:
        stats: dict[int, tuple[int, float]] = {}
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                stats[int(entry.name)] = (int(fields[1]), (float(fields[11]) + float(fields[12])) / self.tick)
            except (OSError, IndexError, ValueError):
                continue
        ours = {self.root}
        changed = True
        while changed:
            before = len(ours)
            ours |= {pid for pid, (ppid, _) in stats.items() if ppid in ours}
            changed = len(ours) != before
        for pid, (_, cpu) in stats.items():
            if pid not in ours and self._names_runs(pid):
                self.seen[pid] = max(cpu, self.seen.get(pid, 0.0))

    def _names_runs(self, pid: int) -> bool:
        try:
            return self.marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())


def utilisation_line(result: GridResult) -> str:
    u = result.utilisation
    return (f"{len(result.outcomes)} runs in {result.wall_s:.0f} s with {u['workers']} workers: machine "
            f"{100 * u['machine_busy']:.0f}% busy over {u['cores']} cores; the grid's processes used "
            f"{u['grid_cores']:.2f} cores on average")


# ---- statistics and tables ------------------------------------------------------------------

def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Mean and the half-width of its ``confidence`` interval (Student's t, n-1 degrees of freedom);
    the half-width is None for fewer than two values (no spread to estimate)."""
    if not values:
        return None, None
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None
    from scipy import stats

    t = float(stats.t.ppf((1 + confidence) / 2, len(values) - 1))
    return mean, t * statistics.stdev(values) / math.sqrt(len(values))


def fmt_ci(mean: float | None, half: float | None, digits: int = 1) -> str:
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" if half is None else f"{mean:.{digits}f} ± {half:.{digits}f}"


def csv_text(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    """``rows`` as CSV with these columns (others left out)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


# ---- recorded full-size results -------------------------------------------------------------

def save_record(path: Path, payload: dict[str, Any], wall_s: float) -> dict[str, Any]:
    """A full-size result kept next to its notebook: the data, the commit, the date, and its cost as
    ``wall_s``: for a grid, its runs' own wall times summed (:attr:`GridResult.runs_wall_s`), which
    holds however many calls finished it."""
    commit, dirty = git_commit()
    record = {"commit": commit, "dirty": dirty, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "wall_s": round(wall_s, 1), "cores": default_workers(), **payload}
    atomic_write_json(Path(path), record)
    return record


def load_record(path: Path) -> dict[str, Any] | None:
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def record_line(record: dict[str, Any]) -> str:
    return (f"recorded full-size run: commit {str(record.get('commit'))[:10]}"
            f"{' (with uncommitted changes)' if record.get('dirty') else ''}, {record.get('date')}, "
            f"{record['wall_s'] / 3600:.2f} h of the runs' own wall time on {record.get('cores')} cores")
