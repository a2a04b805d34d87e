"""Fault tests for untrusted reward code: both layers hold, each on its own.

* The language layer (lifelong/robotics/reward.py) refuses, with the rule and what to write
  instead, what a name check cannot see: modules reached as attributes of numpy/torch
  (``torch.functional.operator``) and attribute access by string (``operator.attrgetter``).
* The OS layer (the confined worker of lifelong/robotics/pool.py): raw reward code with every
  language rule switched off (the ``language_checks`` test hook) still cannot start a process,
  touch files outside its run folder, open a socket, or pass the memory and CPU caps; a call stuck
  in numpy's C code is ended at its time limit. Each test checks that the effect did not happen
  on the host and that the candidate failed with a clear reason while the run carried on.
* The CLI: ``--reward FILE.py`` trains in that worker, and a rejection is one line, no traceback.
"""

from __future__ import annotations

import json
import select
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from lifelong.robotics.pool import run_jobs
from lifelong.robotics.reward import RewardRejected, SandboxedReward
from lifelong.sandbox import available

N = 6
ROOT = Path(__file__).parents[1]
needs_sandbox = pytest.mark.skipif(available() is not None, reason=str(available()))


def state() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"pole_angle": rng.normal(scale=0.1, size=N), "cart_position": rng.normal(size=N)}


def reward_code(lines: str, imports: str = "import numpy as np\nimport torch") -> str:
    """A reward whose body runs ``lines`` and then returns a sound reward."""
    body = "\n".join(f"    {line}" for line in lines.strip().splitlines())
    return (f"{imports}\n\ndef compute_reward(state):\n{body}\n"
            "    r = state['pole_angle'] * 0.0\n    return r, {'r': r}\n")


def refused(code: str) -> RewardRejected:
    with pytest.raises(RewardRejected) as info:
        SandboxedReward(code)(state())
    return info.value


# ---- the language layer ------------------------------------------------------------------------


def test_the_operator_probe_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    probes = [  # the route through torch.functional.operator, then the same through names no static rule can read
        (f"op = torch.functional.operator\nop.methodcaller('system', 'touch {marker}')"
         "(op.attrgetter('os')(torch))"),
        f"m = {{'t': torch}}['t'].functional\nm.operator.attrgetter('os')(torch).system('touch {marker}')",
        f"np.random.mtrand.operator.methodcaller('system', 'touch {marker}')(torch.os)",
    ]
    for probe in probes:
        error = refused(reward_code(probe))
        assert error.rule == "attribute", error.reason
        assert "may not use" in error.reason or "not allowed" in error.reason
        assert "compute the reward from the `state` arrays" in error.reason  # what to write instead
        assert not marker.exists()


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (reward_code("m = np.core.multiarray"), "'numpy.core' is the module 'numpy.core'"),
        (reward_code("m = np.random.mtrand"), "the module 'numpy.random.mtrand'"),
        (reward_code("s = torch.storage"), "the module 'torch.storage'"),
        (reward_code("f = [torch][0].functional"), "line 5: 'torch.functional' is the module"),
        (reward_code("x = 1", "from torch import functional"), "'torch.functional' is the module"),
        (reward_code("x = 1", "import torch.functional as tf"), "import of 'torch.functional'"),
        (reward_code("x = 1", "from torch.fx import node"), "import of 'torch.fx' is not allowed"),
    ],
)
def test_modules_outside_the_allowlist_are_refused_however_reached(code, reason):
    error = refused(code)
    assert error.rule in ("attribute", "import")
    assert reason in error.reason


@pytest.mark.parametrize(
    "lines",
    [
        "hasattr(np, 'load')",  # a getattr in disguise: the name is a string
        "torch.functools.reduce(lambda a, b: a, [1])",
        "g = {'t': torch}['t'].fx.node.operator.attrgetter('load')",
        "f = torch.nn.functional.Callable",  # a value from another module (collections.abc)
    ],
)
def test_attribute_access_by_string_is_refused_in_any_form(lines):
    error = refused(reward_code(lines))
    assert error.rule in ("name", "attribute"), error.reason
    assert "compute the reward" in error.reason or "use arithmetic" in error.reason


def test_reward_code_cannot_patch_numpy_to_hide_nan():
    code = reward_code("np.isnan = np.isinf = np.isfinite = lambda x: np.full(np.shape(x), True)\n"
                       "return np.full(6, np.nan), {}")
    saved = np.isnan, np.isinf, np.isfinite
    try:
        error = refused(code)
    finally:
        np.isnan, np.isinf, np.isfinite = saved
    assert error.rule == "node" and "assigning to or deleting an attribute" in error.reason


# ---- the OS layer, with every language rule switched off ---------------------------------------


def write_card(folder: Path) -> Path:
    card = yaml.safe_load((ROOT / "envs/robots/InvertedPendulum.yaml").read_text())
    card.update(name="PendulumFault", budget=512)
    path = folder / "PendulumFault.yaml"
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    return path


def job(tmp_path: Path, code: str, checks: bool = False, **extra: object) -> dict:
    """A training job for ``code``; ``checks=False`` runs it raw: the test hook."""
    return {"card": str(write_card(tmp_path)), "steps": 512, "seed": 0, "eval_seeds": [0],
            "reward": {"kind": "code", "code": code, "language_checks": checks},
            "out_dir": str(tmp_path / "run"), **extra}


RAW = "import numpy as np\n{probe}\ndef compute_reward(state):\n    return state['upright'], {{}}\n"
SOUND = "import numpy as np\n\ndef compute_reward(state):\n    return state['upright'], {}\n"


def run_raw(tmp_path: Path, probe: str, timeout_s: float = 60, **extra: object) -> dict:
    """Run the raw ``probe`` in a confined worker next to a sound reward; the probe's result."""
    bad = job(tmp_path, RAW.format(probe=probe), **extra)
    good = job(tmp_path, SOUND, checks=True, out_dir=str(tmp_path / "good"))
    result, sound = run_jobs([bad, good], workers=2, timeout_s=timeout_s)
    assert sound["ok"], sound.get("reason")  # one candidate's escape attempt costs only itself
    assert not result["ok"]
    return result


@needs_sandbox
@pytest.mark.parametrize(
    "probe",
    [
        "import os\nrc = os.system('touch {marker}')\nassert rc == 0, f'os.system returned {{rc}}'",
        "import subprocess\nsubprocess.run(['touch', '{marker}'], check=True)",
        "import os\nif os.fork() == 0:\n    open('{marker}', 'w').close()\n    os._exit(0)",
    ],
)
def test_raw_code_cannot_create_a_process(tmp_path, probe):
    marker = tmp_path / "spawned"
    result = run_raw(tmp_path, probe.format(marker=marker))
    time.sleep(0.2)
    assert not marker.exists()
    assert result["rule"] == "runtime"
    assert "PermissionError" in result["reason"] or "os.system returned" in result["reason"]


@needs_sandbox
def test_raw_code_cannot_write_outside_its_run_folder(tmp_path):
    outside = tmp_path / "outside.txt"
    result = run_raw(tmp_path, f"open({str(outside)!r}, 'w').write('x')")
    assert not outside.exists()
    assert result["rule"] == "runtime" and "PermissionError" in result["reason"]
    inside = run_raw(tmp_path, "open('note.txt', 'w').write('x')\nraise ValueError('wrote')")
    assert "ValueError: wrote" in inside["reason"]  # the run folder itself stays writable
    assert (tmp_path / "run" / "note.txt").exists()


@needs_sandbox
@pytest.mark.parametrize(
    ("probe", "path"),
    [
        ("open('/etc/passwd').read()", None),
        ("import os\nos.listdir(os.path.expanduser('~'))", None),
        ("np.fromfile('/etc/passwd', dtype=np.uint8)", None),
        ("np.save({path!r}, np.ones(3))", "written.npy"),
        ("np.ones(3).tofile({path!r})", "written.bin"),
        ("np.memmap({path!r}, dtype=np.uint8, mode='w+', shape=(8,))", "written.mmap"),
        ("import torch\ntorch.save(torch.ones(3), {path!r})", "written.pt"),
        ("np.load({path!r})", "secret.npy"),
        ("import torch\ntorch.load({path!r})", "secret.pt"),
    ],
)
def test_raw_code_cannot_read_or_write_files_through_numpy_or_torch(tmp_path, probe, path):
    target = tmp_path / path if path else None
    if target is not None and target.name.startswith("secret"):
        np.save(target, np.ones(3)) if target.suffix == ".npy" else target.write_bytes(b"x" * 64)
    result = run_raw(tmp_path, probe.format(path=str(target)))
    assert result["rule"] == "runtime", result["reason"]
    assert "PermissionError" in result["reason"] or "Permission denied" in result["reason"]
    if target is not None and not target.name.startswith("secret"):
        assert not target.exists()


@needs_sandbox
def test_raw_code_cannot_open_a_socket(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        probe = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5)"
        result = run_raw(tmp_path, probe)
        ready, _, _ = select.select([listener], [], [], 0.5)
        assert not ready, "the confined worker connected to the test's listening socket"
    assert result["rule"] == "runtime" and "PermissionError" in result["reason"]


@needs_sandbox
def test_memory_bombs_stop_at_the_cap(tmp_path):
    result = run_raw(tmp_path, "np.ones(10**11)")
    assert result["rule"] == "runtime" and "MemoryError" in result["reason"]
    # 1.5 GiB fits this machine but not a 1 GiB cap: the cap, not the RAM, stopped it.
    capped = run_raw(tmp_path, "b = bytearray(1536 * 2**20)", memory_mb=1024)
    assert capped["rule"] == "runtime" and "MemoryError" in capped["reason"]


# ~50 s of one numpy C call (direct convolution), far beyond any limit below.
LONG_C_CALL = "x = np.convolve(np.ones(10**6), np.ones(3 * 10**5))"


@needs_sandbox
def test_a_long_c_call_is_stopped_at_the_call_limit(tmp_path):
    code = reward_code(LONG_C_CALL, "import numpy as np")  # passes every language rule
    start = time.monotonic()
    (result,) = run_jobs([job(tmp_path, code, checks=True, limits={"first_call_timeout_s": 1.0})],
                         timeout_s=120)
    assert time.monotonic() - start < 20
    assert result["rule"] == "timeout"
    assert "a reward call ran over its time limit (1 s for the module body" in result["reason"]


@needs_sandbox
def test_the_cpu_cap_holds_when_the_call_limits_do_not(tmp_path):
    start = time.monotonic()
    result = run_raw(tmp_path, LONG_C_CALL, cpu_s=3,
                     limits={"first_call_timeout_s": 1000.0, "call_timeout_s": 1000.0})
    assert time.monotonic() - start < 20
    assert result["rule"] == "timeout" and "CPU-time cap of 3 s" in result["reason"]


# ---- the CLI: --reward FILE.py -----------------------------------------------------------------


def cli(*args: str):
    from lifelong.cli import app

    result = CliRunner().invoke(app, ["train-robot", *args])
    return result, " ".join(result.output.split())  # rich wraps long lines


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("np.log(state['upright'] * 0.0)", "reward has inf"),
        ("np.sqrt(-state['upright'] - 1.0)", "reward has NaN"),
        ("np.zeros(3)", "reward has shape (3,), expected (16,)"),
        ("state['no_such_field']", "line 4: KeyError: state has no field 'no_such_field'"),
    ],
)
def test_cli_reports_a_reward_failing_while_training_in_one_line(tmp_path, expr, message):
    path = tmp_path / "reward.py"
    path.write_text(f"import numpy as np\n\ndef compute_reward(state):\n    r = {expr}\n"
                    "    return r, {'r': r}\n")
    result, output = cli("InvertedPendulum", "--reward", str(path), "--budget", "512")
    assert result.exit_code == 2, output
    assert "Traceback" not in result.output and not isinstance(result.exception, RewardRejected)
    assert f"error: reward rejected ({'runtime' if 'KeyError' in message else 'output'})" in output
    assert message in output


def test_cli_static_rejection_says_what_to_write_instead(tmp_path):
    path = tmp_path / "reward.py"
    path.write_text(reward_code("op = torch.functional.operator"))
    result, output = cli("InvertedPendulum", "--reward", str(path))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{path}: line 5: the attribute '.operator' is not allowed" in output
    assert "compute the reward from the `state` arrays with numpy, torch or math" in output


@needs_sandbox
def test_cli_reward_file_trains_in_a_confined_worker(tmp_path):
    path = tmp_path / "slow.py"
    path.write_text(reward_code(LONG_C_CALL, "import numpy as np"))
    start = time.monotonic()
    result, output = cli("InvertedPendulum", "--reward", str(path), "--budget", "512")
    assert time.monotonic() - start < 30, "the file's reward ran in the CLI's own process"
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "reward rejected (timeout): a reward call ran over its time limit" in output
    good = tmp_path / "good.py"
    good.write_text(SOUND)
    result, output = cli("InvertedPendulum", "--reward", str(good), "--budget", "512",
                         "--eval-episodes", "1", "--json", "--save-dir", str(tmp_path))
    assert result.exit_code == 0, output
    assert json.loads(result.stdout)["env_steps"] == 512
    assert (tmp_path / "InvertedPendulum-seed0.pt").exists()
