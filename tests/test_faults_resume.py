"""kill -9 at chosen points, then ``--resume``: nothing lost, nothing stored twice.

Every run here is a real process, killed by SIGKILL at an exact point: ``LIFELONG_FAULT=<point>[@n]``
makes :func:`lifelong.runs.fault_point` kill its own process the n-th time it passes that point
(``written``, ``round``, ``stored``, ``task_done`` in the loop; ``candidate`` and ``final_done`` in
Eureka). The rerun with ``--resume`` must finish the run as if nothing had happened: the same
outcomes, one library version per skill, each task's events once, the results files, and no
temporary file of an interrupted write left in the run folder.

* the generic loop, with a tiny world and a real library, killed at every kind of point, the last
  iteration included (a few seconds);
* Eureka through ``lifelong train-robot`` and a scripted local OpenAI-compatible server, killed
  mid-iteration, right after the library store and during the final evaluation (slow, ~1 min);
* ``lifelong explore`` with the planner on the embedded server, killed right after its last skill
  was stored (slow, minecraft).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_eureka import IMPORT_OS, SOUND, reply, write_card

from lifelong.library import SkillLibrary
from lifelong.loop import Attempt, Loop, Task
from lifelong.openai_server import ChatServer
from lifelong.runs import CHECKPOINT_FILE, EVENTS_FILE, FAULT_ENV, STAGING_GLOB, RunDir, read_events

BIN = Path(sys.executable).parent
TESTS = Path(__file__).parent
KILLED = -9


def run_process(argv: list[str], cwd: Path, fault: str | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to its end; with ``fault`` it is expected to die by SIGKILL at that point.

    It runs in a session of its own, so that the processes it started (training workers, the
    forkserver) can be seen to die with it: none may go on writing into the run folder.
    """
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    if fault:
        env[FAULT_ENV] = fault
    with subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, start_new_session=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        finally:
            alone = session_ends(proc.pid)
    expected = KILLED if fault else 0
    assert proc.returncode == expected, f"{argv} -> {proc.returncode}\n{stdout[-3000:]}\n{stderr[-3000:]}"
    assert alone, "processes of the run outlived it"
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def session_ends(pgid: int, within_s: float = 30.0) -> bool:
    """Whether every process of the session ``pgid`` is gone within ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    os.killpg(pgid, signal.SIGKILL)  # leave nothing running behind a failed test
    return False


def leftovers(*folders: Path) -> list[Path]:
    """Temporary files and staging folders of interrupted writes (atomic writes, library versions)."""
    found: list[Path] = []
    for folder in folders:
        found += [p for p in folder.rglob(STAGING_GLOB) if "world" not in p.relative_to(folder).parts]
        found += [p for p in folder.rglob(".*tmp*") if p.is_dir()]
    return found


def events(run: Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The run's events, read without opening it as a RunDir (resuming sweeps temporary files)."""
    return [e for e in read_events(run / EVENTS_FILE) if kind is None or e["event"] == kind]


def checkpoint(run: Path) -> dict[str, Any]:
    return json.loads((run / CHECKPOINT_FILE).read_text())


def one_version_each(library: SkillLibrary) -> dict[str, int]:
    return {name: len(library.versions(name)) for name in library.names()}


def test_resuming_removes_what_interrupted_writes_left(tmp_path):
    """A kill in the middle of an atomic write leaves its temporary file; --resume removes it,
    except in the world folder, where the (still running) Minecraft server writes."""
    run = RunDir(tmp_path / "run")
    run.save_checkpoint({"loop": {}})
    torn = [run.path / ".checkpoint.json.k3j9x0aa.tmp", run.path / "candidates/r0_k1/policy.tmp"]
    kept = [run.path / "world/region/r.0.0.mca.tmp", run.path / "candidates/r0_k1/policy.pt"]
    for path in torn + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half")
    RunDir(run.path, resume=True)
    assert [p.exists() for p in torn + kept] == [False, False, True, True]


# ---- the generic loop: a tiny world in a child process --------------------------------------------

ITERATIONS, ROUNDS = 6, 2


class TinyWorld:
    """Task tN succeeds from round N % 3 on (t2 never does); skills go into a real library.

    With 2 rounds per task and 6 iterations, the last task (t3) is stored in the last iteration.
    """

    def __init__(self, library: SkillLibrary) -> None:
        self.library = library
        self.queue = [f"t{i}" for i in range(4)]
        self.finished: list[str] = []

    def propose(self) -> Task | None:
        return Task(self.queue[0]) if self.queue else None

    def write(self, task: Task, history: list[Attempt]) -> list[str]:
        return [f"// {task.name}, attempt {len(history)}"]

    def verify(self, task: Task, candidates: list[str], round: int) -> list[Attempt]:
        ok = round >= int(task.name[1:]) % 3 and task.name != "t2"
        return [Attempt(c, verified=ok, score=float(round), round=round) for c in candidates]

    def store(self, task: Task, best: Attempt) -> str | None:
        return self.library.add(task.name, best.candidate, kind="minecraft-program", description=f"does {task.name}").name

    def finish(self, task: Task, best: Attempt | None) -> None:
        self.queue.remove(task.name)
        self.finished.append(task.name)

    def state_dict(self) -> dict[str, Any]:
        return {"queue": self.queue, "finished": self.finished}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.queue, self.finished = state["queue"], state["finished"]


def tiny_run(folder: str, resume: bool) -> None:
    """The child process: run (or resume) the tiny world's loop in ``folder``."""
    root = Path(folder)
    world = TinyWorld(SkillLibrary(root / "library"))
    Loop(world, RunDir(root / "run", resume=resume), rounds=ROUNDS).run(ITERATIONS)


def tiny(folder: Path, resume: bool = False, fault: str | None = None) -> None:
    code = f"from test_faults_resume import tiny_run; tiny_run({str(folder)!r}, {resume})"
    run_process([sys.executable, "-c", code], cwd=TESTS, fault=fault, timeout=60)


def outcome(folder: Path) -> dict[str, Any]:
    """What a finished run leaves, minus timestamps: compared with an uninterrupted run's."""
    saved = checkpoint(folder / "run")
    library = SkillLibrary(folder / "library")
    return {"loop": saved["loop"], "world": saved["world"],
            "library": {s.name: library.code(s.name) for s in library.list()},
            "events": [(e["event"], e.get("task"), e.get("round")) for e in events(folder / "run")
                       if e["event"] in ("task_proposed", "round", "task_done")]}


@pytest.fixture(scope="module")
def tiny_reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("reference")
    tiny(folder)
    return outcome(folder)


@pytest.mark.parametrize("fault", [
    "written@1",    # mid-round, before the first checkpoint
    "round@3",      # mid-task: a failed round checkpointed
    "stored@1",     # a skill in the library, its task not yet done
    "task_done@2",  # task_done logged, the checkpoint not yet written
    "round@6",      # the last round checkpointed, its task not yet finished
    "stored@3",     # the last skill stored
    "task_done@4",  # the last task logged as done
])
def test_loop_killed_anywhere_resumes_to_the_same_outcome(tmp_path, tiny_reference, fault):
    tiny(tmp_path, fault=fault)
    tiny(tmp_path, resume=True)
    got = outcome(tmp_path)
    assert got["events"] == tiny_reference["events"]  # no task or round lost or logged twice
    assert got["loop"] == tiny_reference["loop"] and got["world"] == tiny_reference["world"]
    assert got["library"] == tiny_reference["library"]
    assert one_version_each(SkillLibrary(tmp_path / "library")) == {"t0": 1, "t1": 1, "t3": 1}
    assert not leftovers(tmp_path)


# ---- Eureka: `lifelong train-robot` with a scripted LLM endpoint ----------------------------------

BUDGET = 1024  # env steps per training: two PPO updates of the test card (16 envs x 32 steps)
ROUND_0 = [reply(SOUND), reply(IMPORT_OS)]
ROUND_1 = [reply(SOUND.replace("angle_temp = 10.0", "angle_temp = 5.0")), reply(IMPORT_OS)]


def scripted_rounds(request: dict[str, Any]) -> list[str]:
    """The first iteration's prompt is [system, user]; later ones add the best reply and feedback."""
    return ROUND_0 if len(request["messages"]) == 2 else ROUND_1


def train_robot(tmp_path: Path, server: ChatServer, resume: bool = False,
                fault: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = [str(BIN / "lifelong"), "train-robot", str(tmp_path / "PendulumQuick.yaml"),
            "--llm-url", server.base_url, "--iterations", "2", "--samples", "2",
            "--budget", str(BUDGET), "--seeds", "1", "--workers", "2", "--examples", "0",
            "--run-dir", str(tmp_path / "run"), "--library", str(tmp_path / "library"), "--json"]
    return run_process(argv + (["--resume"] if resume else []), cwd=tmp_path, fault=fault)


def check_eureka_finished(tmp_path: Path, resumed: subprocess.CompletedProcess[str]) -> None:
    """The resumed run reports, keeps and logs what an uninterrupted one would, each once."""
    out = json.loads(resumed.stdout)
    assert out["iterations"] == 2 and out["candidates"] == 4 and out["rejected"] == 2, out
    assert out["best_fitness"] is not None and set(out["methods"]) == {"eureka", "human", "sparse"}
    assert out["note"] != "no candidate trained successfully"
    run = tmp_path / "run"
    results = json.loads((run / "results.json").read_text())
    assert results["methods"]["eureka"]["success_mean"] == out["methods"]["eureka"]["success_mean"]
    assert (run / "results.md").exists() and (run / "results.csv").exists()
    assert [e["round"] for e in events(run, "round")] == [0, 1]
    assert len(events(run, "task_proposed")) == 1 and len(events(run, "task_done")) == 1
    saved = checkpoint(run)
    assert saved["loop"]["task"] is None and saved["loop"]["tasks_done"] == 1
    assert saved["world"]["done"] is True and saved["world"]["results"]["methods"] == results["methods"]
    # The sound reward beats the sparse one on these seeds, so both skills are stored, once.
    assert out["library"] == ["reward-PendulumQuick", "policy-PendulumQuick"]
    library = SkillLibrary(tmp_path / "library")
    assert one_version_each(library) == {"reward-PendulumQuick": 1, "policy-PendulumQuick": 1}
    assert (library.artifact_dir(library.get("policy-PendulumQuick")) / "policy.pt").exists()
    assert not leftovers(run, tmp_path / "library")


@pytest.mark.slow  # end to end, ~20 s each
@pytest.mark.parametrize("fault", [
    "candidate@3",   # mid-iteration: iteration 2's first candidate trained, the second not yet
    "stored@1",      # the best reward and its policy are in the library; the task is not done
    "final_done@2",  # the final evaluation: one method-seed of three trained
])
def test_eureka_killed_resumes_and_finishes(tmp_path, fault):
    write_card(tmp_path)
    with ChatServer(scripted_rounds) as server:
        train_robot(tmp_path, server, fault=fault)
        if fault.startswith("stored"):  # killed after the store: the resumed run must not add again
            assert len(one_version_each(SkillLibrary(tmp_path / "library"))) == 2
        asked = len(server.requests)
        resumed = train_robot(tmp_path, server, resume=True)
        # A redone iteration asks with the same history (answered from the LLM cache).
        assert len(server.requests) == asked
    check_eureka_finished(tmp_path, resumed)


# ---- explore: the planner on the embedded world -----------------------------------------------------

EXPLORE_PORT = 25611


@pytest.mark.slow
@pytest.mark.minecraft
@pytest.mark.timeout(600)  # ~30 s: the server starts once, the first task is one wood log
def test_explore_killed_after_its_last_store_resumes_and_reports_the_skill(tmp_path):
    from typer.testing import CliRunner

    from lifelong.cli import app
    from lifelong.minecraft.server import EmbeddedServer

    run, library = tmp_path / "run", tmp_path / "library"
    argv = [str(BIN / "lifelong"), "explore", "--llm", "planner", "--iterations", "1",
            "--run-dir", str(run), "--library", str(library), "--port", str(EXPLORE_PORT), "--seed", "1"]
    try:
        run_process(argv, cwd=tmp_path, fault="stored@1")
        stored = one_version_each(SkillLibrary(library))
        assert len(stored) == 1, stored  # killed right after the store, before the task was done
        resumed = run_process(argv + ["--resume"], cwd=tmp_path)
    finally:
        EmbeddedServer(world_dir=run / "world", port=EXPLORE_PORT).stop()
    assert "1 skills" in " ".join(resumed.stdout.split())  # the final report counts it
    report = json.loads(CliRunner().invoke(app, ["report", str(run), "--json", "--no-plot"]).stdout)
    assert report["iterations"] == 1 and report["skills"] == list(stored)
    assert one_version_each(SkillLibrary(library)) == stored
    assert len(events(run, "task_proposed")) == 1
    assert [e["task"] for e in events(run, "task_done")] == report["tasks_completed"]
    assert len(report["tasks_completed"]) == 1
    assert not leftovers(run, library)
