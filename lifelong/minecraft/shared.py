"""What parallel explorers share, each behind one owner: the skill library and the curriculum memory.

Several explorers (:mod:`lifelong.minecraft.fleet`) must not lose a skill, store one twice, or work
on the same task at the same time. So each shared thing has exactly one owner, a plain object that
one of two transports serves to the explorers, with the same code on both sides:

* locally, a :class:`multiprocessing.managers.BaseManager` in the supervising process
  (:func:`serve_local`, :func:`connect_local`);
* on a Ray cluster, a Ray actor on the driver's node (:class:`RayOwners`).

:class:`LibraryOwner` fronts a :class:`lifelong.library.SkillLibrary`: the plain files stay the
truth (and survive any crash), its index is the one index, and every add, usage count and
retrieval goes through it, so an explorer retrieves a skill another stored as soon as it is
stored; an identical re-add (a task redone after a crash) returns the stored version.

:class:`MemoryOwner` holds the fleet's curriculum memory (completed and failed tasks, shared so the
explorers don't learn the same thing) and the *claims*: an explorer claims a task before working
on it, and another cannot claim it meanwhile. A claim belongs to its explorer's index, so an
explorer restarted after a crash (which resumes the task from its checkpoint) keeps it; it is
released when its explorer is given up or has spent its iterations mid-task (``--resume`` with
more iterations claims it again), or when nothing was heard from it for ``lease_s``
(a worker on a dead node that nobody restarts). Outcomes are recorded at most once per key
(an outcome replayed after a crash is ignored). Its state is written atomically after every
change, so ``--resume`` after the head was killed continues with it.

On the explorer's side, :class:`RemoteLibrary` is the part of the library the Minecraft agents use,
and :class:`SharedCurriculum` wraps the explorer's own curriculum (automatic or static) so it
proposes from the fleet's memory and claims what it proposes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lifelong.embeddings import Embedder
from lifelong.library import Skill, SkillLibrary
from lifelong.loop import Task
from lifelong.minecraft.curriculum import Memory
from lifelong.runs import atomic_write_json

log = logging.getLogger(__name__)

LEASE_S = 300.0       # a claim whose explorer was silent this long is free for others
HEARTBEAT_S = 10.0    # how often an explorer tells the memory owner it is alive
CLAIM_WAIT_S = 600.0  # how long an explorer waits when everything it can propose is claimed
Call = Callable[..., Any]
"""``call(method_name, *args, **kwargs)``: one method call on an owner, over whichever transport."""


def locked(method: Callable[..., Any]) -> Callable[..., Any]:
    """Serialise an owner's methods: the local transport serves each connection in its own thread
    (a Ray actor runs one call at a time anyway)."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return run


# ---- the owners ------------------------------------------------------------------------------


class LibraryOwner:
    """The one writer (and the one index) of a skill library shared by explorers."""

    def __init__(self, root: str, embedder: Embedder | str | None = None) -> None:
        self._lock = threading.RLock()
        self.library = SkillLibrary(root, embedder=embedder)

    @locked
    def names(self) -> list[str]:
        return self.library.names()

    @locked
    def contains(self, name: str) -> bool:
        return name in self.library

    @locked
    def get(self, name: str, version: int | None = None) -> Skill:
        return self.library.get(name, version)

    @locked
    def code(self, name: str, version: int | None = None) -> str:
        return self.library.code(name, version)

    @locked
    def retrieve(self, query: str, k: int = 5, kind: str | None = None, world: str | None = None) -> list[Skill]:
        return self.library.retrieve(query, k=k, kind=kind, world=world)

    @locked
    def with_callees(self, skills: list[Skill]) -> list[Skill]:
        return self.library.with_callees(skills)

    @locked
    def record_use(self, name: str, success: bool) -> Skill:
        return self.library.record_use(name, success)

    @locked
    def add(self, name: str, code: str, kind: str, **fields: Any) -> Skill:
        """:meth:`SkillLibrary.add`: a new version, or the stored one when the code is identical."""
        return self.library.add(name, code, kind, **fields)

    @locked
    def close(self) -> None:
        self.library.close()


class MemoryOwner:
    """The fleet's curriculum memory and the explorers' claims on tasks, kept in one JSON file."""

    def __init__(self, path: str, lease_s: float = LEASE_S) -> None:
        self._lock = threading.RLock()
        self.path = Path(path)
        self.lease_s = lease_s
        saved = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.memory = Memory(**saved.get("memory", {}))
        self.claimed: dict[str, dict[str, Any]] = saved.get("claims", {})  # task -> {worker, since}
        self.recorded: set[str] = set(saved.get("recorded", []))          # keys of outcomes recorded
        self.released: list[dict[str, Any]] = saved.get("released", [])   # claims given up, for the record
        now = time.time()
        self.seen: dict[int, float] = {int(c["worker"]): now for c in self.claimed.values()}  # a fresh lease

    def _save(self) -> None:
        atomic_write_json(self.path, {"memory": vars(self.memory), "claims": self.claimed,
                                      "recorded": sorted(self.recorded), "released": self.released})

    def _live(self, claim: dict[str, Any]) -> bool:
        worker = int(claim["worker"])
        return time.time() - self.seen.get(worker, float(claim["since"])) < self.lease_s

    @locked
    def view(self, worker: int) -> dict[str, Any]:
        """The memory one explorer proposes from, and ``busy``: the tasks others hold claims on."""
        self.seen[worker] = time.time()
        busy = sorted(t for t, c in self.claimed.items() if int(c["worker"]) != worker and self._live(c))
        return {"memory": json.loads(json.dumps(vars(self.memory))), "busy": busy}

    @locked
    def claim(self, task: str, worker: int, seen: int | None = None) -> bool:
        """Claim ``task`` for ``worker`` unless another live explorer holds it, or (``seen``: how many
        completed tasks the proposal was made from) another completed it since: the proposal raced
        with that explorer's outcome. An explorer works on one task at a time, so its other claims
        (a proposal a crash cut short) are dropped."""
        self.seen[worker] = time.time()
        if seen is not None and task in self.memory.completed[seen:]:
            return False
        held = self.claimed.get(task)
        if held is not None and int(held["worker"]) != worker and self._live(held):
            return False
        for other in [t for t, c in self.claimed.items() if int(c["worker"]) == worker and t != task]:
            del self.claimed[other]
        if held is None or int(held["worker"]) != worker:
            if held is not None:
                self.released.append({**held, "task": task, "why": f"lease expired ({self.lease_s:g} s)"})
            self.claimed[task] = {"worker": worker, "since": time.time()}
            self._save()
        return True

    @locked
    def record(self, key: str, task: str, worker: int, success: bool) -> bool:
        """Record an outcome once per ``key`` and release the worker's claim on ``task``; False for a
        key already recorded (an outcome replayed after a crash)."""
        self.seen[worker] = time.time()
        if key in self.recorded:
            return False
        self.memory.record(task, success)
        self.recorded.add(key)
        if int(self.claimed.get(task, {}).get("worker", -1)) == worker:
            del self.claimed[task]
        self._save()
        return True

    @locked
    def heartbeat(self, worker: int) -> None:
        self.seen[worker] = time.time()

    @locked
    def release(self, worker: int, why: str) -> list[str]:
        """Give up ``worker``'s claims (it failed for good, or is done): other explorers may take its tasks."""
        tasks = [t for t, c in self.claimed.items() if int(c["worker"]) == worker]
        for task in tasks:
            self.released.append({**self.claimed.pop(task), "task": task, "why": why})
        if tasks:
            self._save()
        return tasks

    @locked
    def state(self) -> dict[str, Any]:
        return {"memory": json.loads(json.dumps(vars(self.memory))), "claims": dict(self.claimed),
                "recorded": len(self.recorded), "released": list(self.released)}


# ---- the explorers' side ---------------------------------------------------------------------


class RemoteLibrary:
    """What the Minecraft agents use of :class:`SkillLibrary`, answered by the fleet's
    :class:`LibraryOwner`. ``embedder`` is this explorer's own (its question cache embeds)."""

    def __init__(self, call: Call, root: str, embedder: str | None = None) -> None:
        self.call = call
        self.root = Path(root)
        self.embedder = Embedder(embedder) if embedder else Embedder()

    def names(self) -> list[str]:
        return self.call("names")

    def __contains__(self, name: str) -> bool:
        return bool(self.call("contains", name))

    def __len__(self) -> int:
        return len(self.names())

    def get(self, name: str, version: int | None = None) -> Skill:
        return self.call("get", name, version)

    def code(self, name: str, version: int | None = None) -> str:
        return self.call("code", name, version)

    def retrieve(self, query: str, k: int = 5, kind: str | None = None, world: str | None = None) -> list[Skill]:
        return self.call("retrieve", query, k, kind, world)

    def with_callees(self, skills: list[Skill]) -> list[Skill]:
        return self.call("with_callees", skills)

    def record_use(self, name: str, success: bool) -> Skill:
        return self.call("record_use", name, success)

    def add(self, name: str, code: str, kind: str, description: str = "", task: str = "",
            calls: Iterable[str] = (), evidence: dict[str, Any] | None = None, world: str | None = None,
            **rest: Any) -> Skill:
        return self.call("add", name, code, kind, description=description, task=task, calls=list(calls),
                         evidence=evidence, world=world, **rest)


class SharedCurriculum:
    """An explorer's curriculum (automatic or static) proposing from the fleet's memory.

    Before each proposal the inner curriculum gets the fleet's memory, in which the tasks other
    explorers hold claims on count as completed (they will be, or come back as failed): so it
    proposes something else, by the same rules and prompt as a single explorer. The task it
    proposes is claimed; if another explorer claimed it first, or completed it while this one was
    proposing, the memory is read again and the curriculum asked again (a task the curriculum
    chose to repeat, knowing it was done, is claimed as any other). Outcomes go to the owner under a key unique to this proposal, so a
    task finished again after a crash is not counted twice. Chest tasks (this explorer's own
    inventory) are not claimed.
    """

    def __init__(self, inner: Any, call: Call, worker: int, wait_s: float = CLAIM_WAIT_S) -> None:
        self.inner = inner
        self.call = call
        self.worker = worker
        self.wait_s = wait_s
        self.proposals = 0
        self.current: dict[str, Any] | None = None  # {"task", "key", "claimed"} of the task in hand

    @property
    def progress(self) -> int:
        return self.inner.progress

    @property
    def memory(self) -> Memory:
        return self.inner.memory

    def context(self, task: str) -> str:
        return self.inner.context(task) if hasattr(self.inner, "context") else ""

    def _sync(self) -> list[str]:
        """Give the inner curriculum the fleet's memory; returns the tasks others are on."""
        view = self.call("view", self.worker)
        memory = Memory(**view["memory"])
        self._seen = len(memory.completed)
        busy = [t for t in view["busy"] if t not in memory.completed]
        memory.completed = memory.completed + busy
        memory.failed = [t for t in memory.failed if t not in busy]
        self.inner.memory = memory
        return busy

    def propose(self, obs: dict[str, Any]) -> Task | None:
        deadline = time.monotonic() + self.wait_s
        pause = 1.0
        while True:
            busy = self._sync()
            task = self.inner.propose(obs)
            if task is None:
                return None
            chest = task.meta.get("source") == "chest"
            log.info("explorer %d proposes %r (completed %d, busy %s)", self.worker, task.name,
                     len(self.inner.memory.completed), busy)
            if chest or self.call("claim", task.name, self.worker, self._seen):
                self.proposals += 1
                self.current = {"task": task.name, "key": f"{self.worker}:{self.proposals}", "claimed": not chest}
                task.meta = {**task.meta, "worker": self.worker}
                return task
            if time.monotonic() > deadline:
                raise RuntimeError(f"explorer {self.worker}: for {self.wait_s:.0f} s every task its curriculum "
                                   f"proposed ({task.name!r} last) was claimed by another explorer; give the "
                                   "fleet fewer --workers or a curriculum with more tasks")
            log.info("explorer %d: %r was claimed or completed by another explorer meanwhile; proposing again",
                     self.worker, task.name)
            time.sleep(pause)  # the curriculum proposed it again although it was busy: wait for a change
            pause = min(pause * 2, 15.0)

    def record(self, task: str, success: bool) -> None:
        key = self.current["key"] if self.current and self.current["task"] == task else f"{self.worker}:{task}:{time.time()}"
        self.call("record", key, task, self.worker, success)
        memory = self.inner.memory
        memory.record(task, success)  # the local view, until the next sync
        self.current = None

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "shared", "worker": self.worker, "proposals": self.proposals, "current": self.current,
                "inner": self.inner.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.inner.load_state_dict(state["inner"])
        self.proposals = int(state.get("proposals", 0))
        self.current = state.get("current")
        if self.current and self.current.get("claimed") and not self.call("claim", self.current["task"], self.worker):
            log.warning("explorer %d resumes %r, which another explorer claimed after this one's claim "
                        "lapsed; both will work on it", self.worker, self.current["task"])


# ---- transports ------------------------------------------------------------------------------


def local_call(proxy: Any) -> Call:
    return lambda method, *args, **kwargs: getattr(proxy, method)(*args, **kwargs)


def _manager_class() -> type:
    from multiprocessing.managers import BaseManager

    class OwnersManager(BaseManager):
        """Serves the two owners to explorer processes on this machine."""

    return OwnersManager


class LocalOwners:
    """The owners served from this process over a local socket (``address``, ``authkey``)."""

    def __init__(self, library: LibraryOwner, memory: MemoryOwner, authkey: bytes) -> None:
        self.library_owner = library
        self.memory_owner = memory
        self.authkey = authkey
        manager = _manager_class()
        manager.register("library", callable=lambda: library)
        manager.register("memory", callable=lambda: memory)
        self._server = manager(address=("127.0.0.1", 0), authkey=authkey).get_server()
        self.address: tuple[str, int] = self._server.address
        self._thread = threading.Thread(target=self._serve, name="fleet-owners", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(SystemExit):  # serve_forever ends with sys.exit(0), even in a thread
            self._server.serve_forever()

    def library(self) -> Call:
        return _direct(self.library_owner)

    def memory(self) -> Call:
        return _direct(self.memory_owner)

    def close(self) -> None:
        self._server.stop_event.set()
        self._thread.join(timeout=5)
        self.library_owner.close()


def _direct(owner: Any) -> Call:
    return lambda method, *args, **kwargs: getattr(owner, method)(*args, **kwargs)


def serve_local(library_root: str, embedder: str | None, memory_path: str, authkey: bytes) -> LocalOwners:
    """Start both owners in this process and serve them to local explorer processes."""
    return LocalOwners(LibraryOwner(library_root, embedder), MemoryOwner(memory_path), authkey)


def connect_local(address: tuple[str, int], authkey: bytes) -> tuple[Call, Call]:
    """(library, memory) calls to the owners :func:`serve_local` serves at ``address``."""
    manager = _manager_class()
    manager.register("library")
    manager.register("memory")
    client = manager(address=tuple(address), authkey=authkey)
    client.connect()
    return local_call(client.library()), local_call(client.memory())


class RayOwners:
    """The owners as Ray actors on this (the head's) node; their handles travel to explorer tasks."""

    def __init__(self, library_root: str, embedder: str | None, memory_path: str) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        options = {"num_cpus": 0, "scheduling_strategy": here, "max_restarts": 2, "max_task_retries": 2}
        self.library_actor = ray.remote(LibraryOwner).options(**options).remote(library_root, embedder)
        self.memory_actor = ray.remote(MemoryOwner).options(**options).remote(memory_path)

    def library(self) -> Call:
        return ray_call(self.library_actor)

    def memory(self) -> Call:
        return ray_call(self.memory_actor)

    def close(self) -> None:
        import ray

        with _suppress():
            ray.get(self.library_actor.close.remote(), timeout=30)
        for actor in (self.library_actor, self.memory_actor):
            with _suppress():
                ray.kill(actor)


def ray_call(actor: Any) -> Call:
    def call(method: str, *args: Any, **kwargs: Any) -> Any:
        import ray

        return ray.get(getattr(actor, method).remote(*args, **kwargs))

    return call


def _suppress() -> Any:
    return contextlib.suppress(Exception)
