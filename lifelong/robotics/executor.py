"""Where training jobs run: local worker processes (the default) or Ray tasks over a cluster.

Eureka's candidates, its final-evaluation seeds and ``train-robot --reward`` seeds are all
independent trainings, so the callers hand a list of jobs to one seam, :class:`Executor`, and
never name Ray themselves:

* :class:`LocalPool` is :func:`lifelong.robotics.pool.run_jobs`: a fresh confined process per job
  on this machine.
* :class:`RayExecutor` makes every job a Ray task that declares its resources (``num_cpus`` = the
  job's threads) and is spread over the nodes. The isolation boundary stays where it was: a Ray
  worker needs its sockets, so it is never confined itself and never loads reward code; the task
  runs the job through the same confined child process as the local pool
  (``pool.run_jobs([job])`` on that node).

Nodes need not share a filesystem. A task trains into a temporary folder on its node (the card
file, when the card is not a built-in one, travels with the job) and returns the result together
with the bytes of every file the job wrote (policy checkpoint, TensorBoard events, MuJoCo's log);
this process writes them atomically into the job's folder in the run, so a run folder looks the
same whichever executor filled it. Each result carries ``node_id``: the Ray node it ran on.

Faults: a worker or a node that dies mid-task is a *system* failure, which Ray retries on another
node (``max_retries``); a job that fails on its own (a rejected reward, a crash in the trainer, a
timeout) is a *result* and is not retried. Results are keyed by job: each job's files and result
land exactly once, when its task's result arrives, however many attempts it took. A head that
dies takes the driver with it; the run's checkpoints make ``--resume`` continue it (lifelong/loop.py).

While a job trains on a Ray node its progress is not streamed back (that would need an actor per
run); ``on_progress`` hears each job once, when it completes.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from lifelong import cluster
from lifelong.robotics import pool
from lifelong.runs import atomic_write_bytes

Job = dict[str, Any]
Result = dict[str, Any]
OnDone = Callable[[int, Result], None]
OnProgress = Callable[[int, int, int], None]
PR_SET_PDEATHSIG = 1


class Executor(Protocol):
    """Runs training jobs; results keep the jobs' order (``pool.run_jobs``'s contract)."""

    name: str  # "local" or "ray": the --json output's "executor"

    def run_jobs(self, jobs: list[Job], workers: int | None = None, timeout_s: float | None = None,
                 on_done: OnDone | None = None, on_progress: OnProgress | None = None,
                 fn: Callable[[Job], Result] = pool.run_training_job) -> list[Result]: ...


class LocalPool:
    """Today's default: one confined process per job on this machine (lifelong.robotics.pool)."""

    name = "local"

    def run_jobs(self, jobs: list[Job], workers: int | None = None, timeout_s: float | None = None,
                 on_done: OnDone | None = None, on_progress: OnProgress | None = None,
                 fn: Callable[[Job], Result] = pool.run_training_job) -> list[Result]:
        return pool.run_jobs(jobs, workers=workers, timeout_s=timeout_s, on_done=on_done, fn=fn,
                             on_progress=on_progress)


# ---- on a Ray node ------------------------------------------------------------------------------


def _die_with_parent(fn: Callable[[Job], Result], job: Job) -> Result:
    """In the job's process: die when its parent does (Linux), then run the job.

    The parent is the forkserver of a Ray worker; it exits when that worker dies (a node killed
    mid-task), and without this the training would run on, unowned, while Ray retries it elsewhere.
    """
    if sys.platform == "linux":
        parent = os.getppid()
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
    return fn(job)


def _read_tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by path relative to it."""
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def train_on_node(job: Job, timeout_s: float | None, card: tuple[str, str] | None,
                  fn: Callable[[Job], Result]) -> dict[str, Any]:
    """The Ray task: run one job in a confined child on this node; return its result and files.

    ``card`` is (file name, YAML text) for a card that is a file on the driver's machine.
    """
    import ray

    start = time.monotonic()
    node_id = ray.get_runtime_context().get_node_id()
    with tempfile.TemporaryDirectory(prefix="lifelong-ray-") as tmp:
        here = Path(tmp)
        local = {**job, "out_dir": str(here / "out"),
                 "log_dir": str(here / "log") if job.get("log_dir") else None}
        if card is not None:
            (here / "card").mkdir()
            (here / "card" / card[0]).write_text(card[1])
            local["card"] = str(here / "card" / card[0])
        (result,) = pool.run_jobs([local], workers=1, timeout_s=timeout_s,
                                  fn=functools.partial(_die_with_parent, fn))
        files = {"out": _read_tree(here / "out"), "log": _read_tree(here / "log")}
    return {"result": result, "files": files, "node_id": node_id, "task_s": time.monotonic() - start}


# ---- on the driver ------------------------------------------------------------------------------


def _card_payload(card_ref: str) -> tuple[str, str] | None:
    """A card file travels with its job; a built-in card's name is enough (every node has it)."""
    path = Path(card_ref)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path.name, path.read_text()
    return None


def _land(job: Job, payload: dict[str, Any]) -> Result:
    """Write a finished task's files into the job's folders (atomically); its result, renamed."""
    for key in ("out", "log"):
        folder = job.get(f"{key}_dir")
        for name, data in payload["files"][key].items():
            if folder:
                atomic_write_bytes(Path(folder) / name, data)
    result = dict(payload["result"])
    result["wall_s_node"] = result.pop("wall_s_total", None)  # the child's own wall time
    if result.get("ok") and "policy" in result:
        result["policy"] = str(Path(job["out_dir"]) / "policy.pt")  # as the driver names it
    return {**result, "node_id": payload["node_id"], "task_s": payload["task_s"]}


def _lost(exc: Exception, retries: int) -> Result:
    """A task Ray gave up on: its worker or node died on every one of its attempts."""
    text = pool._trim(str(exc) or traceback.format_exc(), lines=6)
    return {"ok": False, "rule": "crash", "node_id": None,
            "reason": f"the Ray task was lost {retries + 1} times (its worker or node died): {text}"}


class RayExecutor:
    """Jobs as Ray tasks on a cluster (see the module docstring); connects on construction."""

    name = "ray"

    def __init__(self, address: str, max_retries: int = 3) -> None:
        self.address = cluster.connect(address)
        self.max_retries = max_retries
        import ray

        self._remote = ray.remote(train_on_node)

    def _check_feasible(self, cpus: float) -> None:
        """A job no node can fit would wait forever: refuse it now, saying what to change."""
        import ray

        most = max((n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n.get("Alive")), default=0.0)
        if most < cpus:
            raise cluster.ClusterError(
                f"a training asks for {cpus:g} CPUs (--threads) but the largest node of the Ray "
                f"cluster at {self.address} has {most:g}: lower --threads, or start nodes with "
                "more CPUs (`ray start --num-cpus N`)")

    def _submit(self, job: Job, timeout_s: float | None, fn: Callable[[Job], Result]) -> Any:
        cpus = float(job.get("threads", 1))
        return self._remote.options(
            num_cpus=cpus, max_retries=self.max_retries, retry_exceptions=False,
            scheduling_strategy="SPREAD",  # one training per core, nodes evenly loaded
        ).remote(job, timeout_s, _card_payload(str(job["card"])), fn)

    def run_jobs(self, jobs: list[Job], workers: int | None = None, timeout_s: float | None = None,
                 on_done: OnDone | None = None, on_progress: OnProgress | None = None,
                 fn: Callable[[Job], Result] = pool.run_training_job) -> list[Result]:
        """Like ``pool.run_jobs``; ``workers`` caps the tasks in flight (default: all of them)."""
        import ray

        if jobs:
            self._check_feasible(max(float(j.get("threads", 1)) for j in jobs))
        results: list[Result | None] = [None] * len(jobs)
        waiting, running = list(range(len(jobs))), {}
        cap = workers or len(jobs)
        try:
            while waiting or running:
                while waiting and len(running) < cap:
                    i = waiting.pop(0)
                    running[self._submit(jobs[i], timeout_s, fn)] = (i, time.monotonic())
                ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
                for ref in ready:
                    i, start = running.pop(ref)
                    results[i] = self._collect(jobs[i], ref, start)
                    if on_progress and results[i].get("ok") and "env_steps" in results[i]:
                        on_progress(i, results[i]["env_steps"], jobs[i].get("steps", 0))
                    if on_done:
                        on_done(i, results[i])
        finally:
            for ref in running:  # interrupted (Ctrl-C, an error): leave nothing running
                with contextlib.suppress(Exception):  # the cluster may be gone already
                    ray.cancel(ref, force=True)
        return [r for r in results if r is not None]

    def _collect(self, job: Job, ref: Any, start: float) -> Result:
        import ray

        try:
            payload = ray.get(ref)
        except ray.exceptions.RayError as exc:
            return {**_lost(exc, self.max_retries), "wall_s_total": time.monotonic() - start}
        landing = time.monotonic()
        result = _land(job, payload)
        return {**result, "land_s": time.monotonic() - landing, "wall_s_total": time.monotonic() - start}


def make_executor(ray_address: str | None = None, max_retries: int = 3) -> Executor:
    """The local pool, or Ray when an address (``HOST:PORT`` or ``auto``) is given."""
    if ray_address:
        return RayExecutor(ray_address, max_retries=max_retries)
    return LocalPool()
