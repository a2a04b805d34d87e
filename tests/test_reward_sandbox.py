"""The reward sandbox rejects unsafe or broken reward code with the exact rule, and runs sound code."""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest

from lifelong.robotics.reward import (
    RewardRejected,
    SandboxedReward,
    extract_code,
    load_reward,
    load_reward_file,
    probe,
)

N = 6


def state() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "qpos": rng.normal(size=(N, 2)), "qvel": rng.normal(size=(N, 2)),
        "action": rng.uniform(-1, 1, size=(N, 1)),
        "pole_angle": rng.normal(scale=0.1, size=N), "cart_position": rng.normal(size=N),
    }


SOUND = '''
import numpy as np
import math

def compute_reward(state):
    temperature = 5.0
    upright = np.exp(-temperature * np.abs(state["pole_angle"]))
    centred = -0.1 * state["cart_position"] ** 2
    effort = -0.01 * np.sum(state["action"] ** 2, axis=1)
    return upright + centred + effort + math.pi * 0, {"upright": upright, "centred": centred,
                                                     "effort": effort}
'''


def rejected(code: str, **limits: float) -> RewardRejected:
    with pytest.raises(RewardRejected) as info:
        SandboxedReward(code, **limits)(state())
    return info.value


def body(expr: str, imports: str = "import numpy as np") -> str:
    return f"{imports}\n\ndef compute_reward(state):\n    r = {expr}\n    return r, {{'r': r}}\n"


def test_sound_reward_passes_and_is_normalised():
    reward = SandboxedReward(SOUND)
    value, comps = reward(state())
    assert value.shape == (N,) and value.dtype == np.float64
    assert sorted(comps) == ["centred", "effort", "upright"]
    np.testing.assert_allclose(value, comps["upright"] + comps["centred"] + comps["effort"])
    assert probe(SandboxedReward(SOUND), state())["components"] == ["centred", "effort", "upright"]


def test_torch_reward_and_scalar_components_are_accepted():
    code = '''
import torch
def compute_reward(state):
    angle = torch.as_tensor(state["pole_angle"])
    r = 1.0 - angle.abs()
    return r, {"alive": 1.0, "angle": r}
'''
    value, comps = SandboxedReward(code)(state())
    assert value.shape == (N,) and comps["alive"].tolist() == [1.0] * N


@pytest.mark.parametrize(
    ("code", "rule", "reason"),
    [
        ("import os\n" + SOUND, "import", "line 1: import of 'os' is not allowed"),
        ("from subprocess import run\n" + SOUND, "import", "line 1: import of 'subprocess'"),
        ("import numpy.ctypeslib\n" + SOUND, "import", "'ctypeslib' is off limits"),
        ("from numpy import load\n" + SOUND, "import", "importing 'load' from 'numpy'"),
        ("from numpy import *\n" + SOUND, "import", "import *"),
        (body("state.__class__"), "attribute", "line 4: access to the dunder attribute '.__class__'"),
        (body("np._core"), "attribute", "private attribute '._core'"),
        (body("np.load('x.npy')"), "attribute", "line 4: the attribute '.load' is not allowed"),
        (body("(x for x in []).gi_frame"), "attribute", "'.gi_frame'"),
        (body("'{0.__class__}'.format(1)"), "attribute", "'.format'"),
        (body("open('/etc/passwd')"), "name", "line 4: the builtin 'open' is not allowed"),
        (body("eval('1')"), "name", "the builtin 'eval' is not allowed"),
        (body("exec('x = 1')"), "name", "the builtin 'exec'"),
        (body("getattr(np, 'load')"), "name", "the builtin 'getattr'"),
        (body("globals()"), "name", "the builtin 'globals'"),
        (body("vars(np)['load']"), "name", "the builtin 'vars'"),
        (body("type(state)"), "name", "the builtin 'type'"),
        (body("object.__getattribute__(np, 'load')"), "attribute", "'.__getattribute__'"),
        (body("hasattr(np, 'load')"), "name", "the builtin 'hasattr'"),
        (body("np.operator"), "attribute", "the attribute '.operator'"),
        (body("np.isnan", "import numpy as np\nnp.isnan = abs"), "node", "assigning to"),
        (body("1", "import numpy.core"), "import", "import of 'numpy.core' is not allowed"),
        (body("__import__('os')"), "name", "the name '__import__' is not allowed"),
        (body("__builtins__"), "name", "'__builtins__'"),
        ("class A:\n    pass\n" + SOUND, "node", "line 1: class definitions are not allowed"),
        (body("torch.classes", "import torch"), "attribute", "'.classes'"),
        ("try:\n    x = 1\nexcept:\n    pass\n" + SOUND, "node", "line 3: a bare 'except:'"),
        (body("BaseException"), "name", "the builtin 'BaseException' is not allowed"),
        ("def reward(state):\n    return 1, {}\n", "signature", "must define a top-level function"),
        ("def compute_reward():\n    return 1, {}\n", "signature", "exactly one argument"),
        ("def compute_reward(state)\n    return 1\n", "syntax", "line 1: syntax error"),
    ],
)
def test_static_rules_reject_with_exact_reason(code, rule, reason):
    error = rejected(code)
    assert error.rule == rule
    assert reason in error.reason


def test_allowlisted_submodules_and_their_functions_work():
    code = body("np.linalg.norm(state['qpos'], axis=1) + F.relu(torch.as_tensor(state['cart_position']))"
                ".numpy() + np.random.default_rng(0).normal(size=6) * 0.0",
                "import numpy as np\nimport torch\nimport torch.nn.functional as F\n"
                "from numpy.linalg import norm")
    assert SandboxedReward(code)(state())[0].shape == (N,)


def test_names_the_code_binds_may_shadow_builtins():
    code = body("input * 2", "import numpy as np\ninput = 1.0")  # 'input' is a local binding here
    assert SandboxedReward(code)(state())[0].tolist() == [2.0] * N


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("np.log(state['pole_angle'] * 0.0)", "reward has inf (6 of 6 values)"),
        ("np.sqrt(-np.ones(6))", "reward has NaN"),
        ("np.full(6, np.inf)", "has inf"),
        ("np.zeros(5)", "reward has shape (5,), expected (6,)"),
        ("np.zeros((6, 2))", "shape (6, 2)"),
    ],
)
def test_outputs_must_be_finite_and_batch_shaped(expr, reason):
    error = rejected(body(expr))
    assert error.rule == "output" and reason in error.reason


def test_wrong_return_structure_and_component_nan():
    assert "must return (reward" in rejected(
        "def compute_reward(state):\n    return state['pole_angle']\n").reason
    code = ("import numpy as np\ndef compute_reward(state):\n    z = np.zeros(6)\n"
            "    return z, {'bad': z / 0.0}\n")
    assert "component 'bad' has NaN" in rejected(code).reason


@pytest.mark.parametrize(
    ("ret", "reason"),
    [
        ("'high', {}", "reward is str, not a number array"),
        ("np.zeros(6), {'c': None}", "component 'c' is NoneType, not a number array"),
        ("np.zeros(6), {'c': [1.0, [2.0]]}", "not a number array"),
        ("np.zeros(6), [1.0]", "must return (reward, {component_name: array})"),
        ("None", "must return (reward"),
    ],
)
def test_wrong_output_types_are_rejected(ret, reason):
    code = f"import numpy as np\ndef compute_reward(state):\n    return {ret}\n"
    error = rejected(code)
    assert error.rule == "output" and reason in error.reason


def test_runtime_errors_name_the_line_and_known_fields():
    error = rejected(body("state['no_such_field'] + 1"))
    assert error.rule == "runtime"
    assert error.reason.startswith("line 4: KeyError: state has no field 'no_such_field'; fields:")
    assert "pole_angle" in error.reason
    assert "line 4: ZeroDivisionError" in rejected(body("1 / 0")).reason


def test_infinite_loop_times_out_on_first_and_later_calls():
    loop = "import numpy as np\ndef compute_reward(state):\n    while True:\n        pass\n"
    start = time.monotonic()
    error = rejected(loop, first_call_timeout_s=0.3)
    assert error.rule == "timeout" and "did not finish within 0.3 s" in error.reason
    assert error.reason.startswith("line 3") or error.reason.startswith("line 4")
    assert time.monotonic() - start < 3
    slow_later = '''
import numpy as np
calls = [0]
def compute_reward(state):
    calls[0] += 1
    while calls[0] > 1:
        pass
    return np.zeros(6), {}
'''
    reward = SandboxedReward(slow_later, call_timeout_s=0.2)
    reward(state())
    with pytest.raises(RewardRejected, match=r"call 2\) did not finish within 0.2 s"):
        reward(state())
    swallow = ("import numpy as np\ndef compute_reward(state):\n    while True:\n        try:\n"
               "            while True:\n                pass\n        except Exception:\n"
               "            pass\n")
    assert rejected(swallow, first_call_timeout_s=0.2).rule == "timeout"  # cannot be swallowed
    with pytest.raises(RewardRejected, match="module body did not finish"):
        SandboxedReward("while True:\n    pass\n" + SOUND, first_call_timeout_s=0.2)


def test_slow_rewards_are_stopped_after_a_few_calls():
    slow = '''
import numpy as np
def compute_reward(state):
    r = np.zeros(len(state["pole_angle"]))
    for i in range(len(r)):  # a Python loop standing in for per-env work
        r[i] = sum(range(20000)) * 0.0
    return r, {}
'''
    reward = SandboxedReward(slow, slow_call_s=0.0001)
    with pytest.raises(RewardRejected, match=r"too slow: \d+ ms per call for 6 environments"):
        for _ in range(25):
            reward(state())
    assert reward.calls == 20  # the first call is not timed; the 21st trips the limit
    fast = SandboxedReward(SOUND)
    for _ in range(30):
        fast(state())


def test_outer_alarm_is_restored():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        SandboxedReward(SOUND)(state())
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < left <= 0.5
        time.sleep(0.6)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_extract_code_from_llm_replies():
    reply = f"Here is my reward.\n```python\n{SOUND}\n```\nIt balances the pole."
    assert extract_code(reply).strip() == SOUND.strip()
    two = f"```python\nimport numpy as np\n```\nand\n```python\n{SOUND}```"
    assert "def compute_reward" in extract_code(two)
    assert extract_code(SOUND.strip()).startswith("import numpy")
    with pytest.raises(RewardRejected, match="no ```python code block") as info:
        load_reward("I think the reward should reward being upright.")
    assert info.value.rule == "format"


def test_reward_file_names_the_file_and_rule(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n" + SOUND)
    with pytest.raises(RewardRejected, match=r"bad.py: line 1: import of 'os' is not allowed"):
        load_reward_file(bad)
    good = tmp_path / "good.py"
    good.write_text(SOUND)
    assert load_reward_file(good)(state())[0].shape == (N,)
    with pytest.raises(RewardRejected, match="cannot read reward file"):
        load_reward_file(tmp_path / "missing.py")
