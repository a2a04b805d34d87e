"""Parallel training jobs: each reward candidate (or final-evaluation seed) trains in its own process.

Why not ``concurrent.futures.ProcessPoolExecutor``: a candidate that hangs inside C code (where the
sandbox's SIGALRM cannot reach it) or kills its process must cost only itself. An executor cannot
kill one worker, and a dead worker breaks the whole pool (``BrokenProcessPool``). Here every job
gets a fresh process from a *forkserver* that has already imported torch, MuJoCo and the trainer
(so a job starts in milliseconds rather than the ~3 s of a spawned interpreter), a pipe for its
result, and a wall-clock deadline after which the parent kills it. A crash, a hang or a kill is
reported as that job's failure with its reason; the loop carries on.

Each job pins torch and MuJoCo to one thread: K jobs on K cores beat one job on K threads for
networks this small, and nobody oversubscribes a shared machine.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

PRELOAD = ["numpy", "torch", "mujoco", "gymnasium", "lifelong.robotics.ppo",
           "lifelong.robotics.reward"]
_context: Any = None


def default_workers() -> int:
    """One job per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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


def run_training_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one reward and evaluate the policy; runs inside a worker. Never raises.

    ``job``: card (path or name), reward ({"kind": "human"|"sparse"|"code", "code": str}),
    steps, seed, eval_seeds, out_dir, optional log_dir and sandbox limits.
    Returns {"ok": True, ...statistics} or {"ok": False, "rule", "reason"}.
    """
    import torch

    from lifelong.robotics.ppo import evaluate, train
    from lifelong.robotics.reward import RewardRejected, SandboxedReward
    from lifelong.robotics.tasks import load_card

    torch.set_num_threads(1)
    try:
        card = load_card(job["card"])
        spec = job["reward"]
        if spec["kind"] == "code":
            reward = SandboxedReward(spec["code"], **job.get("limits", {}))
        else:
            reward = card.reward_fn(spec["kind"])
        result = train(card, reward, steps=job["steps"], seed=job["seed"], threads=1,
                       log_dir=job.get("log_dir"))
        evaluation = evaluate(card, result.policy, seeds=job["eval_seeds"], threads=1)
        out = Path(job["out_dir"])
        out.mkdir(parents=True, exist_ok=True)
        result.policy.save(out / "policy.pt")
    except RewardRejected as exc:
        return {"ok": False, "rule": exc.rule, "reason": exc.reason}
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
        "policy": str(out / "policy.pt"),
    }


def _child(fn: Callable[[dict[str, Any]], dict[str, Any]], job: dict[str, Any],
           conn: Connection) -> None:
    try:
        result = fn(job)
    except BaseException:  # noqa: BLE001 - the parent must always hear back
        result = {"ok": False, "rule": "crash", "reason": _trim(traceback.format_exc())}
    conn.send(result)
    conn.close()


def run_jobs(
    jobs: list[dict[str, Any]],
    workers: int | None = None,
    timeout_s: float | None = None,
    on_done: Callable[[int, dict[str, Any]], None] | None = None,
    fn: Callable[[dict[str, Any]], dict[str, Any]] = run_training_job,
) -> list[dict[str, Any]]:
    """Run ``fn(job)`` for every job, ``workers`` at a time, each in its own process.

    A job past ``timeout_s`` seconds of wall time is killed and reported as a timeout; a process
    that dies without answering is reported with its exit code. Results keep the jobs' order, and
    each carries ``wall_s_total`` (process start to result).
    """
    ctx = context()
    workers = max(1, workers or default_workers())
    pending = list(enumerate(jobs))
    running: dict[int, tuple[Any, Connection, float]] = {}
    results: list[dict[str, Any] | None] = [None] * len(jobs)

    def finish(i: int, result: dict[str, Any]) -> None:
        process, conn, start = running.pop(i)
        conn.close()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
        results[i] = {**result, "wall_s_total": time.monotonic() - start}
        if on_done:
            on_done(i, results[i])

    try:
        while pending or running:
            while pending and len(running) < workers:
                i, job = pending.pop(0)
                receive, send = ctx.Pipe(duplex=False)
                process = ctx.Process(target=_child, args=(fn, job, send), daemon=True)
                process.start()
                send.close()
                running[i] = (process, receive, time.monotonic())
            waitables = [c for _, c, _ in running.values()] + [p.sentinel for p, _, _ in running.values()]
            wait(waitables, timeout=0.5)
            for i, (process, conn, start) in list(running.items()):
                if conn.poll():
                    try:
                        finish(i, conn.recv())
                    except (EOFError, OSError):
                        finish(i, _died(process))
                elif not process.is_alive():
                    finish(i, _died(process))
                elif timeout_s is not None and time.monotonic() - start > timeout_s:
                    process.kill()
                    finish(i, {"ok": False, "rule": "timeout", "reason": (
                        f"training did not finish within {timeout_s:g} s and was stopped "
                        "(a reward that is very slow per call, or hangs inside numpy)")})
    finally:
        for process, conn, _ in running.values():  # interrupted (Ctrl-C): leave nothing behind
            process.kill()
            process.join()
            conn.close()
    return [r for r in results if r is not None]


def _died(process: Any) -> dict[str, Any]:
    process.join(timeout=5)
    code = process.exitcode
    how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
    hint = " (out of memory?)" if code == -9 else ""
    return {"ok": False, "rule": "crash", "reason": f"the training process {how}{hint} without a result"}
