import json

import pytest

from lifelong.loop import Attempt, Loop, Task
from lifelong.runs import RunDir, RunExists, atomic_write_json, read_events


def test_atomic_write_and_torn_event_line(tmp_path):
    atomic_write_json(tmp_path / "a" / "x.json", {"k": 1})
    assert json.loads((tmp_path / "a" / "x.json").read_text()) == {"k": 1}
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]
    run = RunDir(tmp_path / "run")
    run.log("one", n=1)
    with run.events_path.open("a") as f:
        f.write('{"event": "torn')  # a crash mid-write
    assert [e["event"] for e in read_events(run.events_path)] == ["one"]


def test_run_dir_refuses_overwrite_and_empty_resume(tmp_path):
    run = RunDir(tmp_path / "r")
    run.save_checkpoint({"a": 1})
    with pytest.raises(RunExists, match="--resume"):
        RunDir(tmp_path / "r")
    assert RunDir(tmp_path / "r", resume=True).load_checkpoint() == {"a": 1}
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        RunDir(tmp_path / "empty", resume=True)


class CountingWorld:
    """A tiny world: task i succeeds on round i % 3 (round 2 of 'hard' tasks never succeeds)."""

    def __init__(self, tasks: int = 5) -> None:
        self.queue = [f"t{i}" for i in range(tasks)]
        self.stored: list[str] = []
        self.done: list[tuple[str, bool]] = []
        self.writes: list[tuple[str, int]] = []

    def propose(self):
        return Task(self.queue[0]) if self.queue else None

    def write(self, task, history):
        self.writes.append((task.name, len(history)))
        return [f"code for {task.name} after {len(history)}"]

    def verify(self, task, candidates, round):
        need = int(task.name[1:]) % 3
        return [Attempt(c, verified=round >= need, score=float(round), feedback=f"r{round}", round=round)
                for c in candidates]

    def store(self, task, best):
        self.stored.append(task.name)
        return task.name

    def finish(self, task, best):
        self.queue.pop(0)
        self.done.append((task.name, bool(best and best.verified)))

    def state_dict(self):
        return {"queue": self.queue, "stored": self.stored, "done": self.done}

    def load_state_dict(self, state):
        self.queue, self.stored = state["queue"], state["stored"]
        self.done = [tuple(d) for d in state["done"]]


def test_loop_feeds_history_and_stops_on_success(tmp_path):
    world = CountingWorld()
    state = Loop(world, RunDir(tmp_path / "run"), rounds=2).run(iterations=100)
    # t0 ok at round 0, t1 at round 1, t2 fails both rounds, t3 ok, t4 ok at round 1
    assert world.done == [("t0", True), ("t1", True), ("t2", False), ("t3", True), ("t4", True)]
    assert world.stored == ["t0", "t1", "t3", "t4"]
    assert ("t1", 1) in world.writes  # the second round saw the first attempt
    assert state.iteration == 1 + 2 + 2 + 1 + 2


def test_loop_resumes_mid_task_exactly(tmp_path):
    world = CountingWorld()
    Loop(world, RunDir(tmp_path / "run"), rounds=3).run(iterations=2)  # stops inside t1
    assert world.stored == ["t0"]
    resumed = CountingWorld()
    loop = Loop(resumed, RunDir(tmp_path / "run", resume=True), rounds=3)
    assert loop.state.task is not None and loop.state.task["task"]["name"] == "t1"
    loop.run(iterations=100)
    assert resumed.stored == ["t0", "t1", "t2", "t3", "t4"]
    assert resumed.writes[0] == ("t1", 1)  # continued with t1's first attempt in its history
    events = [e["event"] for e in RunDir(tmp_path / "run", resume=True).events()]
    assert "resumed" in events and events.count("task_done") == 5
