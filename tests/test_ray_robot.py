"""Robot trainings as Ray tasks, on a real two-node Ray cluster on this machine.

The cluster is ``ray.cluster_utils.Cluster``: a head and a worker node, each a real raylet with
its own object store (100 MB) and one CPU, so two trainings run side by side only by using both
nodes. The LLM is the scripted local server the other Eureka tests use; the driver is the
``lifelong`` command itself, in a subprocess, so it can be killed and resumed.

What is checked: an unreachable address fails in well under 30 s saying how to start a head;
``--reward human --ray`` reports the executor and each seed's node; a Eureka run spreads its
candidates over both nodes, survives the worker node being killed in the middle of a training
(the task reruns on the head and every candidate is recorded exactly once), and, killed itself
during the final evaluation, finishes on ``--resume --ray``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from test_eureka import SOUND, reply, write_card
from typer.testing import CliRunner

from lifelong import cluster
from lifelong.cli import app
from lifelong.openai_server import ChatServer
from lifelong.runs import EVENTS_FILE, FAULT_ENV, read_events

BIN = Path(sys.executable).parent
NODE = {"num_cpus": 1, "object_store_memory": 100 * 2**20}
BUDGET = 16384  # env steps per training: ~4-8 s on one loaded core, long enough to die mid-way


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- bad input: no cluster there (fast, no Ray started) --------------------------------------------


def test_unreachable_address_fails_fast_and_says_how_to_start_a_head(tmp_path):
    address = f"127.0.0.1:{closed_port()}"
    start = time.monotonic()
    result = CliRunner().invoke(app, ["train-robot", "InvertedPendulum", "--reward", "human",
                                      "--ray", address])
    assert time.monotonic() - start < 30
    assert result.exit_code == 2, result.output
    assert f"no Ray cluster answers at {address}" in result.output
    assert "ray start --head" in result.output and "leave out --ray" in result.output
    # The LLM loop checks before it creates the run folder: nothing is left behind.
    with ChatServer.scripted([]) as server:
        result = CliRunner().invoke(app, ["train-robot", "InvertedPendulum", "--ray", address,
                                          "--llm-url", server.base_url, "--run-dir", "run"])
        assert server.requests == []
    assert result.exit_code == 2 and "ray start --head" in result.output
    assert not (tmp_path / "run").exists()
    # The settings key does what --ray does.
    (tmp_path / "lifelong.toml").write_text(f'[ray]\naddress = "{address}"\n')
    result = CliRunner().invoke(app, ["train-robot", "InvertedPendulum", "--reward", "human"])
    assert result.exit_code == 2 and f"no Ray cluster answers at {address}" in result.output


def test_auto_address_follows_ray_address_then_ray_start(tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(cluster.ClusterUnreachable, match="found no cluster.*ray start --head"):
        cluster.resolve_address("auto")
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text("10.1.2.3:6380\n")
    assert cluster.resolve_address("auto") == "10.1.2.3:6380"
    monkeypatch.setenv("RAY_ADDRESS", "10.9.9.9")
    assert cluster.resolve_address("auto") == "10.9.9.9:6379"
    with pytest.raises(cluster.ClusterUnreachable, match="not an address"):
        cluster.resolve_address("head:port")


# ---- a real two-node cluster ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_nodes():
    """Head + worker, one CPU each; this test process is connected as a driver too (to watch)."""
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    worker = nodes.add_node(**NODE)
    try:
        nodes.wait_for_nodes()
        cluster.connect(nodes.address)
        yield nodes, nodes.head_node.node_id, worker
    finally:
        cluster.shutdown()
        nodes.shutdown()


@pytest.mark.slow
def test_reward_seeds_run_as_ray_tasks_on_both_nodes(two_nodes, tmp_path):
    nodes, head, worker = two_nodes
    result = CliRunner().invoke(app, [
        "train-robot", "InvertedPendulum", "--reward", "human", "--budget", "1024", "--seeds", "2",
        "--eval-episodes", "2", "--ray", nodes.address, "--save-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["executor"] == "ray" and out["seeds"] == 2
    # Two one-CPU tasks at once: one per node. The policies came back through Ray.
    assert {s["node_id"] for s in out["per_seed"]} == {head, worker.node_id}
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["InvertedPendulum-seed0.pt",
                                                             "InvertedPendulum-seed1.pt"]


def rounds(request: dict[str, Any]) -> list[str]:
    """Two sound rewards per iteration (both train), slightly different each iteration."""
    temp = "10.0" if len(request["messages"]) == 2 else "5.0"
    return [reply(SOUND.replace("angle_temp = 10.0", f"angle_temp = {temp}")),
            reply(SOUND.replace("angle_temp = 10.0", f"angle_temp = {temp}").replace("0.05", "0.02"))]


def eureka(tmp_path: Path, server: ChatServer, address: str, *, resume: bool = False,
           fault: str | None = None) -> subprocess.Popen[str]:
    argv = [str(BIN / "lifelong"), "train-robot", str(tmp_path / "PendulumQuick.yaml"),
            "--llm-url", server.base_url, "--iterations", "2", "--samples", "2",
            "--budget", str(BUDGET), "--seeds", "1", "--examples", "0", "--ray", address,
            "--run-dir", str(tmp_path / "run"), "--library", str(tmp_path / "library"), "--json"]
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    env.update({FAULT_ENV: fault} if fault else {})
    return subprocess.Popen(argv + (["--resume"] if resume else []), cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_worker_mid_training(nodes: Any, worker: Any, run: Path, proc: subprocess.Popen[str]) -> None:
    """Once iteration 2's candidates train on both nodes (no CPU left), kill the worker node."""
    import ray

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if (run / "candidates/r1_k1/reward.py").exists() and ray.available_resources().get("CPU", 0) < 0.5:
            nodes.remove_node(worker, allow_graceful=False)
            return
        time.sleep(0.1)
    pytest.fail(f"iteration 2 never trained on both nodes (driver exit code {proc.poll()})")


@pytest.mark.slow
def test_eureka_spreads_candidates_survives_a_dead_node_and_resumes(two_nodes, tmp_path):
    nodes, head, worker = two_nodes
    write_card(tmp_path)
    run = tmp_path / "run"
    with ChatServer(rounds) as server:
        first = eureka(tmp_path, server, nodes.address, fault="final_done@1")
        kill_worker_mid_training(nodes, worker, run, first)
        _, err = first.communicate(timeout=300)
        assert first.returncode == -9, err[-3000:]  # killed at its fault point: the first final seed
        asked = len(server.requests)
        resumed = eureka(tmp_path, server, nodes.address, resume=True)
        stdout, err = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, err[-3000:]
        assert len(server.requests) == asked  # the resumed run only finishes the final evaluation
    out = json.loads(stdout)
    assert out["executor"] == "ray" and out["iterations"] == 2
    assert out["candidates"] == 4 and out["rejected"] == 0
    placed = out["candidate_nodes"]
    # Iteration 1: one candidate per node. Iteration 2: the worker died under one of them; it
    # reran on the head, so both results come from the head.
    assert {placed["r0_k0"], placed["r0_k1"]} == {head, worker.node_id}
    assert placed["r1_k0"] == placed["r1_k1"] == head
    # Every candidate recorded exactly once, with its policy brought back from its node.
    assert Counter(e["folder"] for e in read_events(run / EVENTS_FILE) if e.get("event") == "candidate") \
        == {"r0_k0": 1, "r0_k1": 1, "r1_k0": 1, "r1_k1": 1}
    assert all((run / "candidates" / name / "policy.pt").exists() for name in placed)
    # The final evaluation: three method-seeds, one trained before the kill, two after --resume.
    finals = {(s["method"], s["seed"]): s["node_id"] for s in out["per_seed"]}
    assert set(finals) == {("eureka", 1000), ("human", 1000), ("sparse", 1000)}
    assert set(finals.values()) == {head}
    assert all((run / "final" / m / f"seed{s}" / "policy.pt").exists() for m, s in finals)
    assert set(out["methods"]) == {"eureka", "human", "sparse"}
    assert not [m for m, v in out["methods"].items() if v["failed_seeds"]]
