"""The OS boundary (lifelong/sandbox.py) holds by itself, with no language-level check in front.

Each probe runs raw Python (no AST rules, no SES) in a fresh confined interpreter and reports what
it managed to do; the test then checks the effect really did not happen on the host.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lifelong.sandbox import SYSTEM_READS, Policy, available, exec_argv

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))

PRELUDE = """
import json, os, sys
from pathlib import Path
from lifelong.sandbox import Policy, confine, python_runtime_reads
run = Path(sys.argv[1])
confine(Policy(read=tuple(python_runtime_reads()), write=(run,), memory_mb=512, cpu_s=2))
def attempt(fn):
    try:
        fn()
        return "done"
    except BaseException as exc:  # noqa: BLE001
        return type(exc).__name__
"""


def confined(tmp_path: Path, body: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``body`` after PRELUDE in a new interpreter whose run folder is tmp_path/run."""
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    script = tmp_path / "probe.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    return subprocess.run([sys.executable, str(script), str(run), *args], check=False, capture_output=True,
                          text=True, timeout=timeout)


def report(proc: subprocess.CompletedProcess) -> dict[str, str]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_no_process_can_be_created(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    proc = confined(tmp_path, f"""
        import subprocess
        out = {{
            "system": os.system("touch {marker}"),
            "popen": attempt(lambda: subprocess.run(["touch", "{marker}"])),
            "fork": attempt(os.fork),
            "exec": attempt(lambda: os.execv("/bin/sh", ["sh", "-c", "touch {marker}"])),
            "posix_spawn": attempt(lambda: os.posix_spawn("/bin/touch", ["touch", "{marker}"], {{}})),
        }}
        print(json.dumps(out))
    """)
    out = report(proc)
    assert not marker.exists()
    assert out["popen"] == out["fork"] == out["exec"] == out["posix_spawn"] == "PermissionError"
    assert out["system"] != 0


def test_files_outside_the_run_folder_are_out_of_reach(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    outside = tmp_path / "outside.txt"
    proc = confined(tmp_path, f"""
        out = {{
            "read_secret": attempt(lambda: open("{secret}").read()),
            "read_passwd": attempt(lambda: open("/etc/passwd").read()),
            "list_home": attempt(lambda: os.listdir(os.path.expanduser("~"))),
            "write_outside": attempt(lambda: open("{outside}", "w").write("x")),
            "write_run": attempt(lambda: (run / "ok.txt").write_text("x")),
            "chmod": attempt(lambda: os.chmod(run / "ok.txt", 0o777)),
        }}
        print(json.dumps(out))
    """)
    out = report(proc)
    assert out["read_secret"] == out["read_passwd"] == out["list_home"] == "PermissionError"
    assert out["write_outside"] == "PermissionError" and not outside.exists()
    assert out["write_run"] == "done" and (tmp_path / "run" / "ok.txt").read_text() == "x"
    assert out["chmod"] == "PermissionError"


def test_no_socket_and_no_signal_to_the_parent(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    proc = confined(tmp_path, f"""
        import signal, socket
        out = {{
            "connect": attempt(lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2)),
            "udp": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)),
            "unix": attempt(lambda: socket.socket(socket.AF_UNIX)),
            "kill_parent": attempt(lambda: os.kill(os.getppid(), signal.SIGTERM)),
        }}
        print(json.dumps(out))
    """)
    out = report(proc)
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()
    assert set(out.values()) == {"PermissionError"}


def test_memory_cap_stops_a_bomb(tmp_path: Path) -> None:
    proc = confined(tmp_path, """
        import numpy as np
        print(json.dumps({"bomb": attempt(lambda: np.ones(10**9))}))
    """)
    assert report(proc) == {"bomb": "MemoryError"}


def test_cpu_cap_stops_a_long_call_inside_c(tmp_path: Path) -> None:
    """Catastrophic backtracking runs inside the C regex engine, where no Python handler runs."""
    proc = confined(tmp_path, """
        import re
        re.match(r"(a+)+$", "a" * 64 + "!")
        print("finished")
    """)
    assert proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
    assert "finished" not in proc.stdout


def test_caps_cannot_be_raised(tmp_path: Path) -> None:
    proc = confined(tmp_path, """
        import resource
        out = {"cpu": attempt(lambda: resource.setrlimit(resource.RLIMIT_CPU, (999, 999))),
               "data": attempt(lambda: resource.setrlimit(resource.RLIMIT_DATA, (-1, -1)))}
        print(json.dumps(out))
    """)
    assert set(report(proc).values()) <= {"ValueError", "PermissionError"}


@pytest.mark.node  # the confined process it starts is Node
def test_launcher_confines_a_node_process(tmp_path: Path) -> None:
    """``exec_argv`` starts Node confined: only the listed port, no child process, no writes."""
    marker, written = tmp_path / "pwned", tmp_path / "written"
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    script = tmp_path / "probe.js"
    script.write_text(textwrap.dedent(f"""
        const cp = require('child_process'), fs = require('fs'), net = require('net')
        const out = {{}}
        const attempt = (name, fn) => {{ try {{ const r = fn(); out[name] = r && r.error ? r.error.code : 'done' }} catch (e) {{ out[name] = e.code || e.message }} }}
        attempt('spawn', () => cp.spawnSync('touch', ['{marker}']))
        attempt('write', () => fs.writeFileSync('{written}', 'x'))
        attempt('read', () => fs.readFileSync('/etc/passwd'))
        const s = net.connect({listener.getsockname()[1]}, '127.0.0.1')
        s.on('connect', () => {{ out.connect = 'done'; console.log(JSON.stringify(out)) }})
        s.on('error', (e) => {{ out.connect = e.code; console.log(JSON.stringify(out)) }})
    """))
    policy = Policy(read=(tmp_path, *map(Path, SYSTEM_READS)), network=True, connect_tcp=(1,))
    proc = subprocess.run(exec_argv(policy, ["node", str(script)]), check=False, capture_output=True,
                          text=True,
                          timeout=60)
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()
    assert proc.stdout.strip(), proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"spawn": "EPERM", "write": "EACCES", "read": "EACCES", "connect": "EACCES"}
    assert not marker.exists() and not written.exists()
