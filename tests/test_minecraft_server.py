"""The embedded server launcher: start/status/stop, bad input, restart after death, resume.

These start the real flying-squid server (Node) on ports 25575-25579.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lifelong.minecraft.server import (
    SUPPORTED_VERSIONS,
    EmbeddedServer,
    PortInUse,
    ServerAddress,
    ServerError,
    UnsupportedVersion,
    bridges_dir,
    login_accepted,
    port_in_use,
)

pytestmark = pytest.mark.minecraft
PORT = 25576


def wait_dead(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def server(tmp_path: Path):
    srv = EmbeddedServer(world_dir=tmp_path / "world", port=PORT, seed=1234, mobs=False)
    yield srv
    srv.stop()


def test_start_status_stop_and_resume(server: EmbeddedServer) -> None:
    status = server.start(detach=True)
    assert status.running and status.ready and status.port == PORT and status.seed == 1234
    assert login_accepted("127.0.0.1", PORT)
    state = json.loads(server.state_path.read_text())
    assert state["pid"] == status.pid and state["port"] == PORT
    assert server.start(detach=True).pid == status.pid, "starting a running world is a no-op"

    assert server.stop() is True
    assert not server.status().running and not server.state_path.exists()
    assert not login_accepted("127.0.0.1", PORT, timeout=0.5)
    log = server.log_path.read_text()
    assert "saving world and stopping" in log and "saved; bye" in log
    world = Path(server.world_dir)
    assert (world / "level.dat").exists()
    assert json.loads((world / "lifelong-state.json").read_text())["gameRules"]["keepInventory"] is False

    # Resume: same folder, no seed given -> the world's own seed (level.dat) is kept.
    again = EmbeddedServer(world_dir=world, port=PORT, mobs=False)
    resumed = again.start(detach=True)
    try:
        assert resumed.seed == 1234
        assert re.findall(r"World seed: (-?\d+)", server.log_path.read_text())[-1] == "1234"
    finally:
        again.stop()


def test_port_in_use_is_reported(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", PORT + 1))
        blocker.listen()
        assert port_in_use(PORT + 1)
        with pytest.raises(PortInUse, match=f"port {PORT + 1} is already in use"):
            EmbeddedServer(world_dir=tmp_path / "w", port=PORT + 1).start()
        # The launcher itself says so too (exit code 3), for callers that bypass Python's check.
        proc = subprocess.run(["node", str(bridges_dir() / "server" / "index.js"), "--port", str(PORT + 1),
                               "--world", str(tmp_path / "w2")], stdin=subprocess.DEVNULL,
                              check=False, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 3 and "already in use" in proc.stderr


def test_unsupported_version_names_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedVersion, match="supported versions: 1.21.1"):
        EmbeddedServer(world_dir=tmp_path / "w", port=PORT + 2, version="1.20.1").start()
    proc = subprocess.run(["node", str(bridges_dir() / "server" / "index.js"), "--version", "1.8.8",
                           "--port", str(PORT + 2), "--world", str(tmp_path / "w")],
                          stdin=subprocess.DEVNULL, check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "1.8.8 is not supported" in proc.stderr
    for version in SUPPORTED_VERSIONS:  # Python and the launcher agree on the list
        assert version in proc.stderr


def test_bad_options_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="difficulty must be one of"):
        EmbeddedServer(world_dir=tmp_path, difficulty="nightmare")
    with pytest.raises(ServerError, match="port must be"):
        ServerAddress(port=70000)
    assert ServerAddress("mc.example.org", 25565, "1.20.4", "microsoft").bot_options("Bot") == {
        "host": "mc.example.org", "port": 25565, "version": "1.20.4", "auth": "microsoft", "username": "Bot"}


def test_dead_server_is_detected_and_restarted_in_the_same_world(server: EmbeddedServer) -> None:
    first = server.start(detach=True)
    os.kill(first.pid, signal.SIGKILL)
    assert wait_dead(first.pid)
    assert not server.status().running, "a killed server is seen as stopped"
    second = server.ensure_running()
    assert second.running and second.ready and second.pid != first.pid
    assert server.restarts == 1 and second.restarts == 1
    assert Path(second.world) == Path(server.world_dir)
    assert server.ensure_running().pid == second.pid, "a healthy server is left alone"


def test_cli_foreground_start_saves_on_sigterm(tmp_path: Path) -> None:
    world = tmp_path / "fg"
    cli = [sys.executable, "-c", "from lifelong.cli import app; app()", "server"]
    proc = subprocess.Popen(cli + ["start", "--world", str(world), "--port", str(PORT + 3), "--seed", "7",
                                   "--no-mobs"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not login_accepted("127.0.0.1", PORT + 3, timeout=0.5):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "server never became ready"
            time.sleep(0.3)
        status = subprocess.run(cli + ["status", "--world", str(world), "--json"], check=False, capture_output=True, text=True)
        assert status.returncode == 0 and json.loads(status.stdout)["ready"] is True
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "saved and stopped" in out
    assert "saved; bye" in (world / "server.log").read_text()
    assert not port_in_use(PORT + 3)


def test_foreground_wait_restarts_a_dead_server(server: EmbeddedServer) -> None:
    first = server.start(detach=False)
    done = threading.Event()
    watcher = threading.Thread(target=server.wait, kwargs={"poll": 0.2, "until": done}, daemon=True)
    watcher.start()
    try:
        os.kill(first.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while server.restarts == 0 or not server.status().ready:
            assert time.monotonic() < deadline, "the dead server was not restarted"
            time.sleep(0.3)
        assert server.status().pid != first.pid
    finally:
        done.set()
        watcher.join(timeout=10)
