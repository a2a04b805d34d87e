"""Parallel explorers: ``lifelong explore --workers N [--ray ADDRESS]``.

N explorers run at once, each a whole :func:`lifelong.minecraft.run.run_explore` with its own run
folder (``RUN/worker-<i>/``: checkpoint, events, LLM ledger), its own world and embedded server
on a free port (or its own ``--server`` address: give N, comma-separated) and its own seed
(``--seed`` + i). What they share goes through one owner each (:mod:`lifelong.minecraft.shared`):
the skill library (so no skill is lost or stored twice, and each explorer retrieves what another
stored by its next round) and the curriculum memory with claims on tasks in progress (so they
don't learn the same thing, nor work on the same task at once).

Two executors, one worker function (:func:`explore_worker`):

* local (no ``--ray``): N processes on this machine (``python -m lifelong.minecraft.fleet``); the
  owners are served from this process over a local socket with a random key;
* Ray (``--ray ADDRESS``, :mod:`lifelong.cluster` connects): N Ray tasks of one CPU each, spread
  by Ray over the cluster's nodes; the owners are Ray actors on the driver's node.

Faults. An explorer that dies (kill -9, its node lost) is started again, locally by the
supervisor and on Ray by Ray itself (``[ray] max_retries``, on any node with a free CPU), and
resumes its checkpoint: the task in hand is redone (its claim is kept for it), the library ignores
an identical re-add and the memory an outcome recorded before, so nothing is lost or duplicated.
Run folders must then be on storage every node sees (one machine, or a shared file system). An
explorer that raises (Node missing, its server cannot start, ...) is reported with its reason,
its claims are released, and the others go on. The head killed: ``--resume`` on the run folder
resumes every explorer from its checkpoint and the memory from ``shared-memory.json``.

The run folder records the fleet in ``fleet.json``; :func:`fleet_metrics` (``lifelong report RUN``)
aggregates the explorers: unique items across all of them over the fleet's rounds in time order,
and unique items per hour.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lifelong.config import ConfigError, Settings
from lifelong.events import Event, EventSink, ignore
from lifelong.minecraft import metrics
from lifelong.minecraft.metrics import Tracker
from lifelong.minecraft.shared import (
    HEARTBEAT_S,
    Call,
    RemoteLibrary,
    SharedCurriculum,
    connect_local,
    ray_call,
)
from lifelong.runs import CHECKPOINT_FILE, RunDir, RunExists, atomic_write_json, read_events

log = logging.getLogger(__name__)

FLEET_FILE = "fleet.json"
MEMORY_FILE = "shared-memory.json"
STATUS_FILE = "worker.json"
KEY_ENV = "LIFELONG_FLEET_KEY"
FAILED_EXIT = 3           # a local explorer that failed and said why (not restarted)
MAX_RESTARTS = 3          # local restarts of an explorer that died
POLL_S = 1.0


class ExplorerError(RuntimeError):
    """An explorer stopped with an error (it is reported; the others go on)."""


# ---- events -----------------------------------------------------------------------------------


class FleetStarted(Event, logged_as="fleet_started"):
    """The fleet starts (or resumes): ``executor`` is 'local' or 'ray' (with the cluster's address)."""

    workers: int
    executor: str
    address: str | None = None
    resumed: bool = False


class WorkerStarted(Event, logged_as="worker_started"):
    worker: int
    run_dir: str
    attempt: int = 1


class WorkerRestarted(Event, logged_as="worker_restarted"):
    """An explorer died (``why``) and starts again from its checkpoint."""

    worker: int
    why: str
    attempt: int


class WorkerFailed(Event, logged_as="worker_failed"):
    """An explorer stopped with an error; ``released`` are the tasks it held, now free for the others."""

    worker: int
    error: str
    released: list[str] = dataclasses.field(default_factory=list)


class WorkerDone(Event, logged_as="worker_done"):
    """An explorer spent its iterations; ``released`` is the task it was still on (its checkpoint
    keeps it, and ``--resume`` with more ``--iterations`` claims it again), now free for the others."""

    worker: int
    iterations: int
    unique_items: int
    skills: int
    released: list[str] = dataclasses.field(default_factory=list)


class WorkerProgress(Event):
    """A round or a task of one explorer (read from its events.jsonl; not logged again)."""

    worker: int
    record: dict[str, Any]


# ---- what an explorer is given -----------------------------------------------------------------


def fleet_run_dir(config: Any, settings: Settings) -> Path:
    from lifelong.minecraft.run import explore_run_dir

    return Path(explore_run_dir(config, settings)).resolve()


def open_fleet(parent: Path, config: Any, settings: Settings) -> dict[str, Any]:
    """``fleet.json``: written on a new run, read (and kept) on ``--resume``."""
    path = parent / FLEET_FILE
    if config.resume:
        if not path.exists():
            raise FileNotFoundError(f"nothing to resume in {parent}: it has no {FLEET_FILE} (was it run with "
                                    "--workers?). Start a new run without --resume.")
        fleet = json.loads(path.read_text())
        if config.workers not in (1, fleet["workers"]):
            raise ConfigError(f"{parent} is a fleet of {fleet['workers']} explorers; resume it without --workers "
                              f"(or with --workers {fleet['workers']})")
        return fleet
    if path.exists() or (parent / CHECKPOINT_FILE).exists():
        raise RunExists(f"{parent} already holds a run. Pass --resume to continue it, or choose another --run-dir.")
    if config.workers < 1:
        raise ConfigError(f"--workers must be 1 or more, not {config.workers}")
    servers = [s.strip() for s in config.server.split(",")] if config.server else []
    if servers and len(servers) != config.workers:
        raise ConfigError(f"--server gave {len(servers)} address(es) for {config.workers} workers: each explorer "
                          "needs its own server; give one HOST:PORT per worker, comma-separated, or leave out "
                          "--server to give each its own embedded server")
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    fleet = {
        "workers": config.workers, "executor": "ray" if config.ray else "local", "ray": config.ray,
        "seed": config.seed or 0, "library": str(Path(config.library or settings.library_dir).resolve()),
        "embedder": settings.embedder, "servers": servers, "settings": settings.model_dump(mode="json"),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in fields.items()},
    }
    parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, fleet)
    return fleet


def worker_specs(parent: Path, fleet: dict[str, Any], config: Any) -> list[dict[str, Any]]:
    """One spec per explorer: the parent's flags with the explorer's own folder, seed and server."""
    base = dict(fleet["config"])
    if config.resume:  # flags given with --resume override the run's, as a single explorer's do
        base["iterations"] = config.iterations
    specs = []
    for i in range(int(fleet["workers"])):
        explorer = {**base, "workers": 1, "ray": None, "run_dir": str(parent / f"worker-{i}"),
                    "seed": int(fleet["seed"]) + i, "library": fleet["library"], "world": None, "port": None,
                    "viewer": False, "server": fleet["servers"][i] if fleet["servers"] else None, "resume": False}
        specs.append({"index": i, "config": explorer, "settings": fleet["settings"], "library": fleet["library"],
                      "embedder": fleet["embedder"], "memory": str(parent / MEMORY_FILE)})
    return specs


# ---- one explorer -----------------------------------------------------------------------------


class Shared:
    """An explorer's handles on the fleet's owners, handed to :func:`run_explore`: the library, the
    curriculum wrapper, and a heartbeat that keeps the explorer's claims alive (and stops the
    explorer when the owners are gone: the head died, ``--resume`` will continue)."""

    def __init__(self, worker: int, library: Call, memory: Call, root: str, embedder: str | None) -> None:
        self.worker = worker
        self.memory = memory
        self.library = RemoteLibrary(library, root, embedder)
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name="fleet-heartbeat", daemon=True)
        self._beat.start()

    def curriculum(self, inner: Any) -> SharedCurriculum:
        return SharedCurriculum(inner, self.memory, self.worker)

    def _heartbeat(self) -> None:
        misses = 0
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self.memory("heartbeat", self.worker)
                misses = 0
            except Exception as exc:  # noqa: BLE001 - any transport error means the same here
                misses += 1
                log.warning("explorer %d: the fleet's memory owner did not answer (%s)", self.worker, exc)
                if misses >= 3:
                    log.error("explorer %d: the fleet's owners are gone; stopping (resume with --resume)",
                              self.worker)
                    os.kill(os.getpid(), signal.SIGTERM)
                    return

    def close(self) -> None:
        self._stop.set()


def owner_calls(owners: Any) -> tuple[Call, Call]:
    """(library, memory) calls from what the executor handed over: ('ray', actor, actor) or
    ('local', host, port) with the key in $LIFELONG_FLEET_KEY."""
    if owners[0] == "ray":
        return ray_call(owners[1]), ray_call(owners[2])
    return connect_local((owners[1], int(owners[2])), bytes.fromhex(os.environ[KEY_ENV]))


def explore_worker(spec: dict[str, Any], owners: Any) -> dict[str, Any]:
    """Run (or resume, when its folder has a checkpoint) one explorer of a fleet; returns its report.

    Any error is raised as :class:`ExplorerError` naming the explorer and the reason, after it is
    written to the explorer's ``worker.json``.
    """
    from lifelong.minecraft.run import ExploreConfig, run_explore, solve_port

    index, run_dir = int(spec["index"]), Path(spec["config"]["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    status = run_dir / STATUS_FILE
    previous = json.loads(status.read_text()) if status.exists() else {}
    record = {"state": "running", "pid": os.getpid(), "node": _node(), "attempt": int(previous.get("attempt", 0)) + 1,
              "started": time.time()}
    atomic_write_json(status, record)
    try:
        library, memory = owner_calls(owners)
        shared = Shared(index, library, memory, spec["library"], spec["embedder"])
        try:
            resume = (run_dir / CHECKPOINT_FILE).exists()
            config = ExploreConfig(**{**spec["config"], "resume": resume, "run_dir": run_dir,
                                      "library": Path(spec["library"])})
            if not config.server:
                config.port = solve_port(run_dir / "world", None)  # a free port here, or its server's
            report = run_explore(config, Settings.model_validate(spec["settings"]), shared=shared)
        finally:
            shared.close()
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):  # stopped (SIGTERM, Ctrl-C): resumable
            atomic_write_json(status, {**record, "state": "stopped", "ended": time.time()})
            raise
        error = f"explorer {index} failed: {type(exc).__name__}: {exc}"
        if isinstance(exc, (EOFError, ConnectionError)):
            error += (" (the fleet's owners stopped answering: the `lifelong explore` process that serves them "
                      "is gone; continue the run with --resume)")
        atomic_write_json(status, {**record, "state": "failed", "error": error})
        raise ExplorerError(error) from exc
    atomic_write_json(status, {**record, "state": "done", "ended": time.time()})
    return {k: report.get(k) for k in ("run_dir", "iterations", "unique_items_count", "skills_learned")}


def _node() -> str | None:
    from lifelong import cluster

    return cluster.node_id()


# ---- executors --------------------------------------------------------------------------------


class Tail:
    """New complete records of a JSONL file since the last read (a worker's events.jsonl)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        out = []
        for line in data[:end].splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out


class Supervisor:
    """Reports the explorers' lifecycle to the run's log and ``on_event``, and forwards their progress."""

    def __init__(self, run: RunDir, specs: list[dict[str, Any]], memory: Call, on_event: EventSink) -> None:
        self.run = run
        self.memory = memory
        self.on_event = on_event
        self.tails = {s["index"]: Tail(Path(s["config"]["run_dir"]) / "events.jsonl") for s in specs}
        self.failed: dict[int, str] = {}
        self.done: dict[int, dict[str, Any]] = {}

    def emit(self, event: Event) -> None:
        if event.name:
            self.run.log(event.name, **event.fields())
        self.on_event(event)

    def forward(self) -> None:
        for index, tail in self.tails.items():
            for record in tail.read():
                if record.get("event") in ("step", "task_done", "task_proposed"):
                    self.on_event(WorkerProgress(index, record))

    def finished(self, index: int, result: dict[str, Any]) -> None:
        self.done[index] = result
        released = self.memory("release", index, "its explorer spent its iterations with the task in progress")
        self.emit(WorkerDone(index, int(result.get("iterations") or 0), int(result.get("unique_items_count") or 0),
                             int(result.get("skills_learned") or 0), released))

    def failure(self, index: int, error: str) -> None:
        self.failed[index] = error
        released = self.memory("release", index, error)
        self.emit(WorkerFailed(index, error, released))


def _worker_error(run_dir: Path, fallback: str) -> str:
    with contextlib.suppress(OSError, ValueError):
        status = json.loads((run_dir / STATUS_FILE).read_text())
        if status.get("error"):
            return str(status["error"])
    return fallback


def run_local(specs: list[dict[str, Any]], fleet: dict[str, Any], parent: Path, supervisor_for: Any) -> Supervisor:
    """N explorer processes on this machine; one that dies is started again from its checkpoint."""
    from lifelong.minecraft.shared import serve_local

    key = secrets.token_bytes(16)
    owners = serve_local(fleet["library"], fleet["embedder"], str(parent / MEMORY_FILE), key)
    supervisor = supervisor_for(owners.memory())
    procs: dict[int, subprocess.Popen[bytes]] = {}
    attempts = {s["index"]: 0 for s in specs}
    env = {**os.environ, KEY_ENV: key.hex()}

    def start(spec: dict[str, Any]) -> None:
        index = spec["index"]
        run_dir = Path(spec["config"]["run_dir"])
        run_dir.mkdir(parents=True, exist_ok=True)
        spec_path = run_dir / "worker-spec.json"
        atomic_write_json(spec_path, {"spec": spec, "owners": ["local", *owners.address]})
        attempts[index] += 1
        with (run_dir / "worker.log").open("ab") as out:
            procs[index] = subprocess.Popen([sys.executable, "-m", "lifelong.minecraft.fleet", str(spec_path)],
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)
        if attempts[index] == 1:
            supervisor.emit(WorkerStarted(index, str(run_dir)))

    by_index = {s["index"]: s for s in specs}
    try:
        for spec in specs:
            start(spec)
        while procs:
            time.sleep(POLL_S)
            supervisor.forward()
            for index, proc in list(procs.items()):
                code = proc.poll()
                if code is None:
                    continue
                del procs[index]
                run_dir = Path(by_index[index]["config"]["run_dir"])
                if code == 0:
                    supervisor.finished(index, json.loads((run_dir / "worker-result.json").read_text()))
                elif code == FAILED_EXIT or attempts[index] > MAX_RESTARTS:
                    supervisor.failure(index, _worker_error(run_dir, f"explorer {index} exited with code {code} "
                                                            f"{attempts[index]} times; see {run_dir / 'worker.log'}"))
                else:
                    why = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
                    supervisor.emit(WorkerRestarted(index, why, attempts[index] + 1))
                    start(by_index[index])
        supervisor.forward()
    finally:
        for proc in procs.values():  # interrupted: let each explorer stop its server and checkpoint
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=60)
        owners.close()
    return supervisor


def run_ray(specs: list[dict[str, Any]], fleet: dict[str, Any], parent: Path, settings: Settings,
            supervisor_for: Any) -> Supervisor:
    """N explorer tasks on a Ray cluster, one CPU each; Ray reruns one whose worker or node died."""
    import ray
    from ray.exceptions import RayTaskError

    from lifelong.minecraft.shared import RayOwners

    owners = RayOwners(fleet["library"], fleet["embedder"], str(parent / MEMORY_FILE))
    supervisor = supervisor_for(owners.memory())
    task = ray.remote(num_cpus=1, max_retries=settings.ray.max_retries)(explore_worker)
    handles = ("ray", owners.library_actor, owners.memory_actor)
    refs = {}
    try:
        for spec in specs:
            refs[task.remote(spec, handles)] = spec["index"]
            supervisor.emit(WorkerStarted(spec["index"], spec["config"]["run_dir"]))
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=POLL_S)
            supervisor.forward()
            for ref in ready:
                index = refs.pop(ref)
                try:
                    supervisor.finished(index, ray.get(ref))
                except RayTaskError as exc:
                    cause = exc.cause if isinstance(exc.cause, BaseException) else exc
                    supervisor.failure(index, str(cause))
                except ray.exceptions.RayError as exc:  # died more often than max_retries allows
                    supervisor.failure(index, f"explorer {index} died {settings.ray.max_retries + 1} times "
                                              f"(its worker or node was lost): {type(exc).__name__}: {exc}")
        supervisor.forward()
    finally:
        for ref in refs:
            with contextlib.suppress(Exception):
                ray.cancel(ref)
        owners.close()
    return supervisor


# ---- the fleet --------------------------------------------------------------------------------


def run_fleet(config: Any, settings: Settings, on_event: EventSink = ignore) -> dict[str, Any]:
    """Run (or resume) ``config.workers`` explorers sharing one library and curriculum memory;
    returns :func:`fleet_metrics` with ``run_dir``, ``failed`` (explorer -> reason) and ``executor``.
    Raises :class:`ExplorerError` when every explorer failed."""
    from lifelong import cluster
    from lifelong.minecraft.events import BackendChosen, RunOpened
    from lifelong.minecraft.planner import LABEL

    address = config.ray or None
    if address:  # before anything is written: a wrong address is an error within seconds
        address = cluster.connect(address)
    parent = fleet_run_dir(config, settings)
    fleet = open_fleet(parent, config, settings)
    run = RunDir(parent, resume=config.resume)
    llm = fleet["config"].get("llm") or (None if settings.llm.base_url else "planner")
    if llm == "planner":  # each explorer serves its own planner; the label is said here, once
        on_event(BackendChosen(LABEL, planner=True, implicit=fleet["config"].get("llm") is None))
    on_event(RunOpened(str(parent), config.resume))
    specs = worker_specs(parent, fleet, config)
    if fleet["executor"] == "ray" and not address:
        address = cluster.connect(fleet["ray"])  # a resumed Ray fleet goes back to its cluster
    supervisor_for = lambda memory: Supervisor(run, specs, memory, on_event)
    start = FleetStarted(len(specs), fleet["executor"], address, config.resume)
    run.log(start.name, **start.fields())
    on_event(start)
    if fleet["executor"] == "ray":
        supervisor = run_ray(specs, fleet, parent, settings, supervisor_for)
    else:
        supervisor = run_local(specs, fleet, parent, supervisor_for)
    if supervisor.failed and not supervisor.done:
        raise ExplorerError("every explorer failed:\n" + "\n".join(supervisor.failed.values()))
    report = fleet_metrics(parent)
    report.update(run_dir=str(parent), failed={str(k): v for k, v in supervisor.failed.items()},
                  executor=fleet["executor"])
    return report


# ---- the fleet's report ------------------------------------------------------------------------


def worker_dirs(parent: Path) -> list[Path]:
    return sorted((p for p in parent.glob("worker-*") if (p / "events.jsonl").exists()),
                  key=lambda p: int(p.name.split("-")[1]))


def fleet_metrics(parent: Path) -> dict[str, Any]:
    """The fleet's report, shaped like :func:`metrics.compute`'s: unique items across explorers
    over the fleet's rounds in time order, milestones by fleet round, skills, cost; plus each
    explorer's report under ``workers`` and ``unique_items_per_hour`` over the fleet's wall time."""
    parent = Path(parent)
    workers = {p.name: metrics.compute(p) for p in worker_dirs(parent)}
    rounds: list[tuple[float, dict[str, Any]]] = []
    for path in worker_dirs(parent):
        steps: dict[int, dict[str, Any]] = {}
        for e in read_events(path / "events.jsonl"):
            if e.get("event") == "step":
                steps[int(e["iteration"])] = e
        rounds += [(float(e.get("t") or 0), e) for e in steps.values()]
    rounds.sort(key=lambda r: r[0])
    tracker, curve = Tracker(), []
    for n, (_, e) in enumerate(rounds, 1):
        tracker.update(n, e.get("inventory") or {}, None)
        curve.append([n, len(tracker.first_seen)])
    times = [e.get("t") for e in read_events(parent / "events.jsonl") if e.get("t")] + [t for t, _ in rounds]
    wall_s = (max(times) - min(times)) if times else 0.0
    unique = sorted(tracker.first_seen, key=lambda i: (tracker.first_seen[i], i))
    skills = sorted({s for w in workers.values() for s in w["skills"]})
    first = next(iter(workers.values()), {})

    def total(key: str) -> Any:
        return sum(w[key] for w in workers.values())

    def merged(key: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for w in workers.values():
            for role, value in w[key].items():
                out[role] = out.get(role, 0) + value
        return out

    return {
        "run": str(parent), **{k: first.get(k) for k in ("llm", "curriculum", "seed", "time_scale")},
        "ablations": first.get("ablations") or [], "world_style": first.get("world_style") or "grove",
        "workers": workers, "iterations": len(rounds), "unique_items": unique,
        "unique_items_count": len(unique), "items_over_iterations": curve, "first_seen": tracker.first_seen,
        "milestones": tracker.milestones, "skills_learned": len(skills), "skills": skills,
        "tasks_completed": [t for w in workers.values() for t in w["tasks_completed"]],
        "tasks_failed": [t for w in workers.values() for t in w["tasks_failed"]],
        "distance": round(total("distance"), 1) if workers else 0.0,
        "tokens": total("tokens") if workers else 0, "cost_usd": total("cost_usd") if workers else 0.0,
        "tokens_by_role": merged("tokens_by_role"), "cost_by_role": merged("cost_by_role"),
        "calls_by_role": merged("calls_by_role"),
        "tick_rate": first.get("tick_rate") or metrics.tick_rate([], 1),
        "wall_s": round(wall_s, 1),
        "unique_items_per_hour": round(len(unique) / (wall_s / 3600), 1) if wall_s > 0 else None,
    }


def is_fleet(run_path: Path) -> bool:
    return (Path(run_path) / FLEET_FILE).exists()


# ---- a local explorer process ------------------------------------------------------------------


@contextlib.contextmanager
def _terminating() -> Iterator[None]:
    """SIGTERM ends the explorer through its finally blocks (its server stops, its files close)."""

    def on_term(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str]) -> int:
    """``python -m lifelong.minecraft.fleet SPEC``: one local explorer (started by :func:`run_local`)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("lifelong.minecraft.shared").setLevel(logging.INFO)  # claims: worker.log says why it waits
    given = json.loads(Path(argv[0]).read_text())
    with _terminating():
        try:
            result = explore_worker(given["spec"], given["owners"])
        except ExplorerError as exc:
            print(exc, file=sys.stderr)
            return FAILED_EXIT
    run_dir = Path(given["spec"]["config"]["run_dir"])
    atomic_write_json(run_dir / "worker-result.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
