"""Parallel training jobs: each reward candidate (or final-evaluation seed) trains in its own process.

Why not ``concurrent.futures.ProcessPoolExecutor``: a candidate that hangs inside C code or kills
its process must cost only itself. An executor cannot kill one worker, and a dead worker breaks
the whole pool (``BrokenProcessPool``). Here every job gets a fresh process from a *forkserver*
that has already imported torch, MuJoCo and the trainer (so a job starts in milliseconds rather
than the ~3 s of a spawned interpreter), a pipe for its progress and result, and a wall-clock
deadline after which the parent kills it. A crash, a hang or a kill is reported as that job's
failure with its reason; the loop carries on.

The isolation boundary: a job that runs untrusted reward code (``{"kind": "code"}``: LLM-written,
``--reward FILE.py``, or from a shared library) confines its own process with
:func:`lifelong.sandbox.confine` *before* the code is loaded, while the process still has one
thread (:func:`confine_worker`): reads only of the Python runtime and the run folder, writes only
to the run folder (and its TensorBoard folder), no new processes, no network, a memory cap
(:data:`WORKER_MEMORY_MB`) and a CPU-time cap equal to the job's deadline, all enforced by the
kernel. Each reward call's time limit is enforced by the kernel too
(:func:`lifelong.robotics.reward.enable_hard_time_limits`); the parent turns the signal that
ended a process into the reason (:func:`_died`).

Each job pins torch and MuJoCo to one thread by default: K jobs on K cores beat one job on K
threads for networks this small, and nobody oversubscribes a shared machine.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from lifelong.host import default_workers

PRELOAD = ["numpy", "torch", "mujoco", "gymnasium", "lifelong.robotics.ppo",
           "lifelong.robotics.reward", "lifelong.sandbox", "pyseccomp"]
# A training worker peaks near 350 MB of private memory (HalfCheetah, 64 envs); a reward needs
# little. The cap stops memory bombs (np.ones(10**11)) with a MemoryError in the candidate.
WORKER_MEMORY_MB = 4096
_context: Any = None
_progress: Connection | None = None  # in a worker: the pipe to the parent (one job per process)


def job_timeout_s(steps: int) -> float:
    """A training job's deadline: generous (600 s + 5 ms per env step), for hangs only."""
    return 600.0 + 0.005 * steps


def context() -> Any:
    """The forkserver context, started once per parent process with the heavy modules imported."""
    global _context
    if _context is None:
        if "forkserver" in mp.get_all_start_methods():
            _context = mp.get_context("forkserver")
            _context.set_forkserver_preload(PRELOAD)
        else:  # Windows: spawn works, each job just pays the imports
            _context = mp.get_context("spawn")
    return _context


def _trim(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _job_folders(job: dict[str, Any]) -> list[Path]:
    """The run folder (and TensorBoard folder) of a job: the only places its process may write."""
    return [Path(p).resolve() for p in (job["out_dir"], job.get("log_dir")) if p]


def worker_policy(job: dict[str, Any]) -> Any:
    """What a job that runs untrusted code may still do (see the module docstring)."""
    from lifelong.sandbox import Policy, python_runtime_reads

    folders = _job_folders(job)
    cpu_s = job["cpu_s"] * job.get("threads", 1) if job.get("cpu_s") else None
    return Policy(read=(*python_runtime_reads(), *folders), write=tuple(folders),
                  memory_mb=job.get("memory_mb", WORKER_MEMORY_MB),
                  cpu_s=math.ceil(cpu_s) if cpu_s else None)


def confine_worker(job: dict[str, Any]) -> None:
    """Confine this worker process, irreversibly, before it loads untrusted code.

    The folders must exist first (Landlock grants rights on open files), and the working folder
    becomes the run folder, where MuJoCo writes its MUJOCO_LOG.TXT.
    """
    from lifelong.robotics.reward import enable_hard_time_limits
    from lifelong.sandbox import confine

    for folder in _job_folders(job):
        folder.mkdir(parents=True, exist_ok=True)
    os.chdir(_job_folders(job)[0])
    confine(worker_policy(job))
    enable_hard_time_limits(job.get("threads", 1))


def report_progress(done: int, total: int) -> None:
    """In a worker: tell the parent how far the job is (``run_jobs``'s ``on_progress``)."""
    if _progress is not None:
        _progress.send(("progress", done, total))


def run_training_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one reward and evaluate the policy; runs inside a worker. Never raises.

    ``job``: card (path or name), reward ({"kind": "human"|"sparse"|"code", "code": str}),
    steps, seed, eval_seeds, out_dir, optional log_dir, threads, sandbox limits (``limits``:
    SandboxedReward's keyword arguments) and caps (``memory_mb``, ``cpu_s``).
    Returns {"ok": True, ...statistics} or {"ok": False, "rule", "reason"}.
    """
    import torch

    from lifelong.robotics.ppo import evaluate, train
    from lifelong.robotics.reward import RewardRejected, SandboxedReward
    from lifelong.robotics.tasks import load_card
    from lifelong.sandbox import SandboxUnavailable

    torch.set_num_threads(1)
    threads = job.get("threads", 1)
    out = Path(job["out_dir"]).resolve()
    log_dir = str(Path(job["log_dir"]).resolve()) if job.get("log_dir") else None
    try:
        card = load_card(job["card"])
        spec = job["reward"]
        if spec["kind"] == "code":
            confine_worker(job)
            reward = SandboxedReward(spec["code"], language_checks=spec.get("language_checks", True),
                                     **job.get("limits", {}))
        else:
            reward = card.reward_fn(spec["kind"])
        result = train(card, reward, steps=job["steps"], seed=job["seed"], threads=threads,
                       log_dir=log_dir, progress=report_progress)
        evaluation = evaluate(card, result.policy, seeds=job["eval_seeds"], threads=threads)
        out.mkdir(parents=True, exist_ok=True)
        result.policy.save(out / "policy.pt")
    except RewardRejected as exc:
        return {"ok": False, "rule": exc.rule, "reason": exc.reason}
    except SandboxUnavailable as exc:
        return {"ok": False, "rule": "sandbox", "reason": str(exc)}
    except Exception:  # noqa: BLE001 - the candidate's (or trainer's) failure: report, never raise
        return {"ok": False, "rule": "crash", "reason": _trim(traceback.format_exc())}
    return {
        "ok": True,
        "env_steps": result.env_steps,
        "wall_s": result.wall_s,
        "history": result.history,
        "max_success": result.max_success,
        "eval_success": evaluation.successes,
        "eval_returns": evaluation.returns,
        "eval_lengths": evaluation.lengths,
        "policy": str(Path(job["out_dir"]) / "policy.pt"),  # as the parent named the folder
    }


def _child(fn: Callable[[dict[str, Any]], dict[str, Any]], job: dict[str, Any],
           conn: Connection) -> None:
    global _progress
    _progress = conn
    try:
        result = fn(job)
    except BaseException:  # noqa: BLE001 - the parent must always hear back
        result = {"ok": False, "rule": "crash", "reason": _trim(traceback.format_exc())}
    conn.send(("result", result))
    conn.close()


def run_jobs(
    jobs: list[dict[str, Any]],
    workers: int | None = None,
    timeout_s: float | None = None,
    on_done: Callable[[int, dict[str, Any]], None] | None = None,
    fn: Callable[[dict[str, Any]], dict[str, Any]] = run_training_job,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run ``fn(job)`` for every job, ``workers`` at a time, each in its own process.

    A job past ``timeout_s`` seconds of wall time is killed and reported as a timeout (and a
    confined job gets the same number as its CPU-time cap, which the kernel enforces even if
    this process dies); a process that dies without answering is reported with the reason its
    exit signal gives. Results keep the jobs' order, and each carries ``wall_s_total`` (process
    start to result). ``on_progress(i, done, total)`` hears a job's :func:`report_progress`.
    """
    ctx = context()
    workers = max(1, workers or default_workers())
    pending = [(i, {"cpu_s": timeout_s, **job} if timeout_s else job) for i, job in enumerate(jobs)]
    running: dict[int, tuple[Any, Connection, float, dict[str, Any]]] = {}
    results: list[dict[str, Any] | None] = [None] * len(jobs)

    def finish(i: int, result: dict[str, Any]) -> None:
        process, conn, start, _ = running.pop(i)
        conn.close()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
        results[i] = {**result, "wall_s_total": time.monotonic() - start}
        if on_done:
            on_done(i, results[i])

    def receive(i: int, process: Any, conn: Connection, job: dict[str, Any]) -> None:
        """Drain a job's pipe: progress messages, then its result (or its death)."""
        try:
            while conn.poll():
                kind, *payload = conn.recv()
                if kind == "result":
                    finish(i, payload[0])
                    return
                if on_progress:
                    on_progress(i, *payload)
        except (EOFError, OSError):
            finish(i, _died(process, job))

    try:
        while pending or running:
            while pending and len(running) < workers:
                i, job = pending.pop(0)
                receive_end, send_end = ctx.Pipe(duplex=False)
                process = ctx.Process(target=_child, args=(fn, job, send_end), daemon=True)
                process.start()
                send_end.close()
                running[i] = (process, receive_end, time.monotonic(), job)
            waitables = [c for _, c, _, _ in running.values()]
            wait(waitables + [p.sentinel for p, _, _, _ in running.values()], timeout=0.5)
            for i, (process, conn, start, job) in list(running.items()):
                if conn.poll():
                    receive(i, process, conn, job)
                elif not process.is_alive():
                    finish(i, _died(process, job))
                elif timeout_s is not None and time.monotonic() - start > timeout_s:
                    process.kill()
                    finish(i, {"ok": False, "rule": "timeout", "reason": (
                        f"training did not finish within {timeout_s:g} s and was stopped "
                        "(a reward that is very slow per call, or hangs inside numpy)")})
    finally:
        for process, conn, _, _ in running.values():  # interrupted (Ctrl-C): leave nothing behind
            process.kill()
            process.join()
            conn.close()
    return [r for r in results if r is not None]


def _died(process: Any, job: dict[str, Any]) -> dict[str, Any]:
    """The failure of a process that ended without a result, named after what ended it."""
    process.join(timeout=5)
    code = process.exitcode
    if code == -signal.SIGPROF:
        from lifelong.robotics.reward import CALL_TIMEOUT_S, FIRST_CALL_TIMEOUT_S

        limits = job.get("limits", {})
        first = limits.get("first_call_timeout_s", FIRST_CALL_TIMEOUT_S)
        later = limits.get("call_timeout_s", CALL_TIMEOUT_S)
        return {"ok": False, "rule": "timeout", "reason": (
            f"a reward call ran over its time limit ({first:g} s for the module body and the "
            f"first call, {later:g} s for later calls) inside numpy/torch C code and the OS "
            "stopped it; avoid huge matrices, sorts or loops of big array operations per call")}
    if code == -signal.SIGXCPU:
        return {"ok": False, "rule": "timeout", "reason": (
            f"the training process used up its CPU-time cap of {worker_policy(job).cpu_s} s and "
            "the OS stopped it (a reward that is very slow per call?)")}
    how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
    hint = " (out of memory?)" if code == -9 else ""
    return {"ok": False, "rule": "crash", "reason": f"the training process {how}{hint} without a result"}
