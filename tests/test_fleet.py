"""`lifelong explore --workers N [--ray ADDRESS]` end to end with the planner back end (not an LLM)
on embedded worlds at time scale 8: explorers share one library (no skill lost or stored twice,
one calls a skill the other stored) and one curriculum memory (no task worked on by two at once);
one killed with kill -9 mid-run is restarted from its checkpoint; one that cannot start its server
is reported and the others go on; the same sharing on a real Ray cluster on this machine (a head and
two nodes), where Ray reruns an explorer whose node died on the other node.
And the fast errors: an unreachable Ray address, --server without one address per explorer."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli import app

runner = CliRunner()


def lifelong(*args: str, log: Path) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "lifelong"
    return subprocess.Popen([str(exe), *args], stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def events(run: Path, kind: str) -> list[dict]:
    path = run / "events.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == kind:
            out.append(record)
    return out


def wait_into_next_task(worker_run: Path, proc: subprocess.Popen, log: Path) -> None:
    """Wait until the explorer has finished a round, then 2 s more: into its next task."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not events(worker_run, "step") and proc.poll() is None:
        time.sleep(0.5)
    assert events(worker_run, "step"), log.read_text()[-3000:]
    time.sleep(2)


def check_web_view(root: Path, library: Path, embedder) -> None:
    """`lifelong serve --runs ROOT` lists the fleet and each explorer; the fleet's page links them
    and shows their lifecycle; a skill links the explorer run that verified it."""
    import httpx
    from web_support import serving

    from lifelong.library import SkillLibrary
    from lifelong.web import ServeConfig, create_app

    skills = SkillLibrary(library, embedder=embedder)
    site = create_app(ServeConfig(library=library, runs=root), skills)
    with serving(site) as url, httpx.Client(base_url=url, timeout=60) as client:
        listing = client.get("/runs").text
        assert all(f'href="/runs/run@worker-{i}"' in listing for i in (0, 1)) and 'href="/runs/run"' in listing
        fleet = client.get("/runs/run").text
        assert "2 explorers" in fleet and 'href="/runs/run@worker-1"' in fleet
        assert "explorer 2 failed" in fleet and "restarted" in fleet and "signal 9" in fleet
        assert client.get("/runs/run/items.svg").status_code == 200
        explorer = client.get("/runs/run@worker-0")
        assert explorer.status_code == 200 and 'id="iteration-1"' in explorer.text
        assert client.get("/runs/run@worker-2").status_code == 404  # it never ran
        assert client.get("/runs/run@..").status_code == 404
        name = skills.names()[0]
        assert 'href="/runs/run@worker-' in client.get(f"/skills/{name}").text


def in_progress(worker_run: Path) -> list[str]:
    """The claimed task an explorer's checkpoint holds in progress (none, or one)."""
    checkpoint = json.loads((worker_run / "checkpoint.json").read_text())
    current = checkpoint["world"]["curriculum"].get("current") or {}
    return [current["task"]] if current.get("claimed") else []


def check_sharing(run: Path, library: Path, workers: list[int]) -> None:
    """No skill lost or stored twice; an explorer called another's skill; no task learned by two, nor
    held by two at once."""
    stored: dict[str, int] = {}
    for i in workers:
        for e in events(run / f"worker-{i}", "task_done"):
            if e.get("skill"):
                stored.setdefault(e["skill"], i)
    on_disk = {p.name: sorted(v.name for v in p.iterdir()) for p in (library / "skills").iterdir()}
    assert set(on_disk) == set(stored), (on_disk, stored)  # every stored skill is there, nothing else
    assert all(v == ["v1"] for v in on_disk.values()), on_disk  # and none twice
    borrowed = [(i, name) for i in workers for e in events(run / f"worker-{i}", "step")
                for name in e.get("calls") or [] if stored.get(name, i) != i]
    assert borrowed, "no explorer called a skill another one stored"
    spans = []  # (task, worker, from, to): from its proposal to its outcome
    for i in workers:
        proposed = events(run / f"worker-{i}", "task_proposed")
        done = events(run / f"worker-{i}", "task_done")
        for p in proposed:
            end = next((d["t"] for d in done if d["task"] == p["task"] and d["t"] >= p["t"]), float("inf"))
            spans.append((p["task"], i, p["t"], end))
    done_by = [{e["task"] for e in events(run / f"worker-{i}", "task_done") if e["success"]} for i in workers]
    assert not set.intersection(*done_by), f"two explorers learned {set.intersection(*done_by)}"
    for task, i, start, end in spans:
        for other, j, s2, e2 in spans:
            if other == task and j != i:
                assert end <= s2 or e2 <= start, f"{task!r} was worked on by explorers {i} and {j} at once"


@pytest.mark.slow
@pytest.mark.minecraft
@pytest.mark.timeout(600)
def test_local_explorers_share_a_library_survive_kill_9_and_a_failed_one(tmp_path, embedder):
    run, library, log = tmp_path / "run", tmp_path / "library", tmp_path / "explore.log"
    (run / "worker-2").mkdir(parents=True)
    (run / "worker-2" / "world").write_text("not a folder")  # explorer 2 cannot start its server
    proc = lifelong("explore", "--workers", "3", "--llm", "planner", "--iterations", "4", "--time-scale", "8",
                    "--seed", "1", "--run-dir", str(run), "--library", str(library), log=log)
    try:
        wait_into_next_task(run / "worker-0", proc, log)
        pid = json.loads((run / "worker-0" / "worker.json").read_text())["pid"]
        os.kill(pid, signal.SIGKILL)
        assert proc.wait(timeout=420) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    out = " ".join(log.read_text().split())
    assert "NOT a language model" in out and "the other explorers go on" in out
    failed = events(run, "worker_failed")
    assert [f["worker"] for f in failed] == [2] and "explorer 2 failed" in failed[0]["error"]
    restarted = events(run, "worker_restarted")
    assert [r["worker"] for r in restarted] == [0] and "signal 9" in restarted[0]["why"]
    assert events(run / "worker-0", "resumed")
    done = events(run, "worker_done")
    assert sorted(d["worker"] for d in done) == [0, 1]
    check_sharing(run, library, [0, 1])
    memory = json.loads((run / "shared-memory.json").read_text())
    assert memory["claims"] == {}  # ... and a task still in progress when an explorer ran out of
    for d in done:                 # iterations was released, and its checkpoint keeps it for --resume
        assert d["released"] == in_progress(run / f"worker-{d['worker']}"), d
    outcomes = {(i, e["task"], e["iteration"]) for i in (0, 1) for e in events(run / f"worker-{i}", "task_done")}
    assert memory["memory"]["finished"] == len(outcomes)  # each outcome counted once, the killed one's too
    report = runner.invoke(app, ["report", str(run), "--json", "--no-plot"])
    data = json.loads(report.stdout)
    assert set(data["workers"]) == {"worker-0", "worker-1"}
    assert data["iterations"] == 8 and data["unique_items_count"] >= max(
        w["unique_items_count"] for w in data["workers"].values())
    assert data["skills_learned"] == len(list((library / "skills").iterdir())) and data["unique_items_per_hour"] > 0
    check_web_view(tmp_path, library, embedder)


@pytest.mark.slow
@pytest.mark.minecraft
@pytest.mark.timeout(600)
def test_two_explorers_on_a_ray_cluster_share_a_library_and_survive_losing_a_node(tmp_path):
    from ray.cluster_utils import Cluster

    # the head (the driver's node: the owners live there) runs no explorer; two nodes of one CPU do
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "object_store_memory": 100 * 1024**2, "include_dashboard": False})
    nodes = [cluster.add_node(num_cpus=1, object_store_memory=100 * 1024**2) for _ in range(2)]
    try:
        cluster.wait_for_nodes()
        address = cluster.address
        run, library, log = tmp_path / "run", tmp_path / "library", tmp_path / "explore.log"
        proc = lifelong("explore", "--workers", "2", "--ray", address, "--llm", "planner", "--iterations",
                        "3", "--time-scale", "8", "--seed", "3", "--run-dir", str(run), "--library", str(library),
                        log=log)
        try:
            wait_into_next_task(run / "worker-1", proc, log)
            first = json.loads((run / "worker-1" / "worker.json").read_text())
            cluster.remove_node(next(n for n in nodes if n.node_id == first["node"]))  # explorer 1's node dies
            assert proc.wait(timeout=420) == 0, log.read_text()[-3000:]
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
    finally:
        cluster.shutdown()
    fleet = json.loads((run / "fleet.json").read_text())
    assert fleet["executor"] == "ray" and events(run, "fleet_started")[0]["address"] == address
    zero = json.loads((run / "worker-0" / "worker.json").read_text())
    again = json.loads((run / "worker-1" / "worker.json").read_text())
    assert zero["node"] != first["node"]  # one CPU a node: one explorer on each
    assert again["attempt"] == 2 and again["node"] == zero["node"]  # Ray ran it again on the other node ...
    assert events(run / "worker-1", "resumed") and again["state"] == "done"  # ... from its checkpoint
    check_sharing(run, library, [0, 1])


def test_an_unreachable_ray_address_is_an_error_within_seconds(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the with ends: nothing listens there
    start = time.monotonic()
    result = runner.invoke(app, ["explore", "--workers", "2", "--ray", f"127.0.0.1:{port}", "--llm", "planner",
                                 "--run-dir", str(tmp_path / "r"), "--library", str(tmp_path / "lib")])
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and time.monotonic() - start < 30
    assert f"no Ray cluster answers at 127.0.0.1:{port}" in out and "ray start --head" in out
    assert not (tmp_path / "r").exists()  # nothing was started or written


def test_servers_must_be_one_per_explorer(tmp_path):
    result = runner.invoke(app, ["explore", "--workers", "2", "--server", "localhost:25565", "--llm", "planner",
                                 "--run-dir", str(tmp_path / "r"), "--library", str(tmp_path / "lib")])
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and "one HOST:PORT per worker" in out


def test_resuming_a_folder_without_a_fleet_says_so(tmp_path):
    result = runner.invoke(app, ["explore", "--workers", "2", "--resume", "--llm", "planner",
                                 "--run-dir", str(tmp_path / "none")])
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and "nothing to resume" in out


def test_a_fleet_resumes_with_its_own_number_of_explorers(tmp_path):
    run = tmp_path / "fleet"
    run.mkdir()
    (run / "fleet.json").write_text(json.dumps({"workers": 2}))
    (run / "events.jsonl").write_text("")
    result = runner.invoke(app, ["explore", "--resume", "--run-dir", str(run), "--workers", "3", "--llm", "planner"])
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and "a fleet of 2 explorers" in out and "without --workers" in out
