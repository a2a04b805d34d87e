"""The Eureka loop end to end, with every LLM call over real HTTP to a scripted local server.

The task is InvertedPendulum with a small PPO batch so that a few thousand env steps train
something. Separating a shaped reward from the sparse one on evaluation seeds the selection never
saw takes more: at 4000 steps they score alike on fresh seeds (their gap at the selection's seeds
was luck), at 8000 (``E2E_STEPS``) the shaped one wins on average, so the end-to-end test uses 8000. gymnasium's InvertedPendulum reward *is* its sparse
reward (+1 while upright), which leaves the human-normalised score undefined (0 / 0); the test card
therefore carries a hand-written "human" reward (upright, cart kept near the centre), as Eureka's
human rewards are the ones engineers wrote for each task.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lifelong.config import LLMSettings
from lifelong.library import SkillLibrary
from lifelong.llm import LLM, LLMError
from lifelong.loop import Attempt, Task
from lifelong.openai_server import ChatServer, Fault
from lifelong.robotics.eureka import EurekaConfig, EurekaWorld, RunMismatch, run_eureka
from lifelong.robotics.pool import run_jobs
from lifelong.robotics.reflection import TrainingCurves, hints, policy_feedback, sample
from lifelong.robotics.scores import (
    FAILED_F,
    MethodScore,
    Results,
    evaluate_methods,
    evaluation_seeds,
)
from lifelong.robotics.tasks import load_card
from lifelong.runs import RunDir

STEPS = 4000
E2E_STEPS = 8000  # where the shaped reward beats the sparse one on unseen seeds (module docstring)

NAN = '''
import numpy as np

def compute_reward(state):
    balance = np.log(state["pole_angle"] - state["pole_angle"])  # log(0) = -inf, times 0 = NaN
    return balance * 0.0, {"balance": balance}
'''
IMPORT_OS = '''
import os
import numpy as np

def compute_reward(state):
    upright = state["upright"]
    return upright, {"upright": upright}
'''
LOOP = '''
import numpy as np

def compute_reward(state):
    total = 0.0
    while True:
        total += 1.0
    return np.zeros(len(state["upright"])), {}
'''
SOUND = '''
import numpy as np

def compute_reward(state):
    angle_temp = 10.0
    upright = np.exp(-angle_temp * np.abs(state["pole_angle"]))
    still = -0.05 * state["pole_angular_velocity"] ** 2
    centre = -0.1 * state["cart_position"] ** 2
    return upright + still + centre, {"upright": upright, "still": still, "centre": centre}
'''


def reply(code: str) -> str:
    return f"The pole should stay upright, so I reward a small angle.\n\n```python\n{code.strip()}\n```\n"


# Small batches (many updates in few steps), every setting pinned so that a change of the
# trainer's defaults cannot silently change what this test measures.
PPO = {"num_envs": 16, "num_steps": 32, "epochs": 10, "minibatches": 4, "lr": 3e-4,
       "anneal_lr": True, "gamma": 0.99, "gae_lambda": 0.95, "clip_coef": 0.2, "ent_coef": 0.0,
       "vf_coef": 0.5, "max_grad_norm": 0.5, "hidden": [64, 64], "init_log_std": 0.0,
       "norm_obs": True, "norm_reward": True, "target_kl": None, "desired_kl": None}


def write_card(folder: Path, name: str = "PendulumQuick") -> Path:
    card = yaml.safe_load((Path(__file__).parents[1] / "envs/robots/InvertedPendulum.yaml").read_text())
    card.update(
        name=name, budget=STEPS, ppo=PPO,
        human_reward=(
            "def compute_reward(state):\n"
            "    upright = state['upright']\n"
            "    centre = -0.1 * state['cart_position'] ** 2\n"
            "    return upright + centre, {'upright': upright, 'centre': centre}\n"
        ),
    )
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    return path


def llm_for(server: ChatServer, run: RunDir) -> LLM:
    return LLM(LLMSettings(base_url=server.base_url, max_retries=0), run_dir=run.path, cache_dir=None)


CONFIG = EurekaConfig(samples=4, steps=STEPS, seeds=2, workers=2, first_call_timeout_s=1.0,
                      call_timeout_s=1.0)


@pytest.mark.slow
def test_eureka_rejects_bad_rewards_beats_sparse_and_stores_skills(tmp_path, embedder):
    card = write_card(tmp_path)
    round_1 = [reply(NAN), reply(IMPORT_OS), reply(LOOP), reply(SOUND)]
    round_2 = [reply(SOUND), "A reward should balance the pole.", reply(IMPORT_OS), reply(NAN)]
    from lifelong.cli import app

    run = RunDir(tmp_path / "run")
    with ChatServer.scripted([round_1, round_2]) as server:
        result = CliRunner().invoke(app, [
            "train-robot", str(card), "--llm-url", server.base_url, "--iterations", "2",
            "--samples", "4", "--budget", str(E2E_STEPS), "--seeds", "2", "--workers", "2",
            "--run-dir", str(run.path), "--library", str(tmp_path / "library"), "--json",
        ])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    library = SkillLibrary(tmp_path / "library", embedder=embedder)

    # Two iterations, K=4 samples each, asked for with n=4.
    assert [r["n"] for r in server.requests] == [4, 4]
    first, second = (r["messages"] for r in server.requests)
    assert [m["role"] for m in first] == ["system", "user"]
    assert "compute_reward(state" in first[0]["content"] and "state['pole_angle']" in first[1]["content"]
    # Eureka's second prompt: system, user, the best response, its feedback (+ why others failed).
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert "exp(-angle_temp" in second[2]["content"]
    feedback = second[3]["content"]
    assert "upright: ['" in feedback and "Max:" in feedback and "Min:" in feedback
    assert "upright_steps (task score)" in feedback
    assert "line 1: import of 'os' is not allowed" in feedback and "offending line: import os" in feedback
    assert "returned non-finite values" in feedback and "NaN" in feedback
    assert "did not finish within 10 s (infinite loop?)" in feedback

    # Reasons per candidate are in the run folder too.
    rules = {json.loads(p.read_text())["evidence"].get("rule")
             for p in (run.path / "candidates").glob("r0_k*/result.json")}
    assert rules == {"output", "import", "timeout", None}

    # The sound reward beats the sparse one; the human-normalised score is reported.
    assert out["iterations"] == 2 and out["rejected"] == 6 and out["candidates"] == 8
    methods = out["methods"]
    assert methods["eureka"]["success_mean"] > methods["sparse"]["success_mean"]
    assert isinstance(out["human_normalized_score"], float) and out["human_normalized_score"] > 0
    for key in ("task", "reward", "eval_return_mean", "eval_return_std_seeds", "success_mean",
                "env_steps", "wall_s"):
        assert key in out
    results = json.loads((run.path / "results.json").read_text())
    assert set(results["methods"]) == {"eureka", "human", "sparse"}
    assert len(results["methods"]["eureka"]["success"]) == 2
    assert "| eureka |" in (run.path / "results.md").read_text()
    assert (run.path / "results.csv").read_text().startswith("task,method")

    # The reward and the policy (with its checkpoint) are in the library, retrievable by intent.
    reward = library.get("reward-PendulumQuick")
    assert reward.kind == "reward-function" and reward.world == "robotics"
    assert "exp(-angle_temp" in library.code(reward.name)
    policy = library.get("policy-PendulumQuick")
    assert policy.kind == "policy" and (library.artifact_dir(policy) / "policy.pt").exists()
    assert policy.evidence["human_normalized_score"] == out["human_normalized_score"]
    found = library.retrieve("balance a pole on a cart", k=1, kind="reward-function", world="robotics")
    assert found[0].name == "reward-PendulumQuick"

    # A similar new task sees the stored reward as an example in its first prompt.
    other = write_card(tmp_path, "PendulumOther")
    world = EurekaWorld(other, llm=None, run=RunDir(tmp_path / "run2"), config=CONFIG,  # type: ignore[arg-type]
                        library=library)
    assert "Example: reward-PendulumQuick" in world.user_prompt()
    assert "exp(-angle_temp" in world.user_prompt()

    # Resuming a finished run asks the LLM nothing and reports the same result.
    with ChatServer.scripted([]) as idle:
        run_again = RunDir(tmp_path / "run", resume=True)
        again = run_eureka(str(card), llm_for(idle, run_again), run_again, iterations=2,
                           config=CONFIG, library=library)
        assert idle.requests == []
    assert again["human_normalized_score"] == out["human_normalized_score"]


def test_resume_mid_run_continues_with_the_same_history(tmp_path):
    """The endpoint dies in iteration 2 (all of iteration 1 was rejected: no training needed);
    --resume continues with iteration 2 and the same history."""
    card = write_card(tmp_path)
    run = RunDir(tmp_path / "run")
    bad = [reply(IMPORT_OS), "no code at all"]
    config = EurekaConfig(samples=2, steps=STEPS, seeds=1, workers=1)
    with ChatServer.scripted([bad, Fault.server_error()]) as server, \
            pytest.raises(LLMError, match="HTTP 500"):
        run_eureka(card, llm_for(server, run), run, iterations=2, config=config)
    assert run.load_checkpoint()["loop"]["iteration"] == 1
    resumed = RunDir(tmp_path / "run", resume=True)
    with ChatServer.scripted([bad]) as server:
        out = run_eureka(card, llm_for(server, resumed), resumed, iterations=2, config=config)
        (request,) = server.requests
    # All candidates failed: the first failure is shown as the response, with its reason; the
    # other one is listed as well.
    roles = [m["role"] for m in request["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    text = request["messages"][3]["content"]
    assert "import of 'os' is not allowed" in text and "no ```python code block" in text
    assert out["iterations"] == 2 and out["rejected"] == 4
    assert out["human_normalized_score"] is None and out["note"] == "no candidate trained successfully"
    assert out["success_mean"] is None and out["eval_return_mean"] is None  # JSON null, not NaN
    other = write_card(tmp_path, "PendulumOther")
    with pytest.raises(RunMismatch, match="designs rewards for PendulumQuick, not PendulumOther"):
        run_eureka(other, None, RunDir(tmp_path / "run", resume=True), iterations=3, config=config)  # type: ignore[arg-type]


def _job(job: dict) -> dict:
    """Pool test job (module level, so worker processes can import it)."""
    import os
    import time

    if job["mode"] == "hang":
        time.sleep(60)
    if job["mode"] == "exit":
        os._exit(3)
    if job["mode"] == "raise":
        raise MemoryError("too big")
    return {"ok": True, "value": job["value"]}


def test_pool_reports_hangs_crashes_and_exceptions_as_failed_jobs():
    jobs = [{"mode": "hang"}, {"mode": "exit"}, {"mode": "raise"}, {"mode": "ok", "value": 7}]
    done = []
    results = run_jobs(jobs, workers=2, timeout_s=3, fn=_job, on_done=lambda i, r: done.append(i))
    assert results[0]["rule"] == "timeout" and "did not finish within 3 s" in results[0]["reason"]
    assert results[1]["rule"] == "crash" and "exited with code 3" in results[1]["reason"]
    assert results[2]["rule"] == "crash" and "MemoryError: too big" in results[2]["reason"]
    assert results[3]["ok"] and results[3]["value"] == 7
    assert sorted(done) == [0, 1, 2, 3]


def test_training_job_trains_a_sandboxed_reward_with_tensorboard_logs(tmp_path):
    card = write_card(tmp_path)
    job = {"card": str(card), "reward": {"kind": "code", "code": SOUND}, "steps": 1024, "seed": 0,
           "eval_seeds": [0, 1], "out_dir": str(tmp_path / "out"), "log_dir": str(tmp_path / "tb")}
    (result,) = run_jobs([job], workers=1, timeout_s=120)
    assert result["ok"], result.get("reason")
    assert result["env_steps"] == 1024 and len(result["eval_success"]) == 2
    assert set(result["history"][0]["components"]) == {"upright", "still", "centre"}
    assert Path(result["policy"]).exists()
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_after_an_all_failed_round_the_prompt_builds_on_the_best_reward_so_far(tmp_path):
    card = write_card(tmp_path)
    world = EurekaWorld(card, llm=None, run=RunDir(tmp_path / "run"), config=CONFIG)  # type: ignore[arg-type]
    good = Attempt("good reply", True, 40.0, "good feedback", {"code": "c"}, round=0)
    worse = Attempt("worse reply", True, 10.0, "worse feedback", {"code": "c"}, round=0)
    failed = Attempt("bad reply", False, None, "bad feedback", {"code": "import os", "reason":
                     "line 1: import of 'os' is not allowed"}, round=1)
    messages = world.messages([good, worse])
    assert messages[2]["content"] == "good reply" and messages[3]["content"] == "good feedback"
    messages = world.messages([good, worse, failed])
    assert messages[2]["content"] == "good reply"
    assert messages[3]["content"].startswith("good feedback")
    assert "offending line: import os" in messages[3]["content"]


def test_reflection_samples_ten_points_and_hints():
    history = [
        {"env_steps": 100 * (i + 1), "success": 0.0, "episode_length": 10.0 + i,
         "components": {"alive": 1.0, "huge": 500.0 + i, "angle": -0.1 * i}}
        for i in range(25)
    ]
    curves = TrainingCurves.from_history(history, "upright_steps")
    assert sample(list(range(25))) == [0, 3, 5, 8, 11, 13, 16, 19, 21, 24]
    notes = "\n".join(hints(curves))
    assert "upright_steps) stayed at or below zero" in notes
    assert "'alive' barely changes" in notes
    assert "'huge' dominates" in notes
    assert "'angle' barely" not in notes
    text = policy_feedback(curves)
    assert "2500 environment steps" in text
    assert "huge: ['500', '503', '505'" in text and "Max: 524, Mean: 512, Min: 500" in text
    assert "If the task score is always near zero" in text


def test_cli_without_llm_endpoint_says_how_to_configure(tmp_path):
    from lifelong.cli import app

    result = CliRunner().invoke(app, ["train-robot", "InvertedPendulum", "--run-dir", str(tmp_path / "r")])
    assert result.exit_code == 2
    output = " ".join(result.output.split())  # rich wraps long lines
    assert "No LLM endpoint is configured" in output and "--reward human" in output


def test_cli_rejects_a_sandbox_breaking_reward_file(tmp_path):
    from lifelong.cli import app

    bad = tmp_path / "bad.py"
    bad.write_text(IMPORT_OS)
    result = CliRunner().invoke(app, ["train-robot", "InvertedPendulum", "--reward", str(bad)])
    assert result.exit_code == 2
    output = " ".join(result.output.split())  # rich wraps long lines
    assert "bad.py: line 2: import of 'os' is not allowed" in output
    assert load_card("InvertedPendulum").name == "InvertedPendulum"


def test_final_evaluation_uses_seeds_and_episodes_unseen_by_selection(tmp_path):
    """The best reward is picked on training seed = iteration and episodes 0-4; its final scores
    come from other training seeds and other episodes, and results.json says which."""
    card = write_card(tmp_path)
    config = EurekaConfig(samples=1, steps=512, seeds=2, workers=2)
    world = EurekaWorld(card, llm=None, run=RunDir(tmp_path / "run"), config=config)  # type: ignore[arg-type]
    (attempt,) = world.verify(Task("PendulumQuick"), [reply(SOUND)], round=0)
    assert attempt.verified, attempt.evidence.get("reason")
    world.store(Task("PendulumQuick"), attempt)
    results = json.loads((world.run.path / "results.json").read_text())
    assert results["selection_seeds"] == [0]
    assert results["evaluation_seeds"] == evaluation_seeds(2, [0]) == [1000, 1001]
    assert not set(results["selection_episodes"]) & set(results["evaluation_episodes"])
    assert sorted(p.name for p in (world.run.path / "final/eureka").iterdir()) == ["seed1000", "seed1001"]
    # a resumed world remembers which seeds selected the reward
    state = world.state_dict()
    again = EurekaWorld(card, llm=None, run=RunDir(tmp_path / "run", resume=True), config=config)  # type: ignore[arg-type]
    again.load_state_dict(state)
    assert again.selection_seeds == [0]


def test_a_failed_seed_counts_in_f_as_a_failure_and_is_reported(tmp_path):
    card = write_card(tmp_path)
    scores = evaluate_methods(str(card), {"eureka": {"kind": "code", "code": NAN}}, tmp_path / "run",
                              steps=512, seeds=[1000, 1001], workers=2, timeout_s=120)
    eureka = scores["eureka"]
    assert eureka.failed_seeds == [1000, 1001] and eureka.seeds == []
    assert eureka.success_mean == FAILED_F  # not NaN: the failures are the score
    assert all("non-finite" in f for f in eureka.failures)
    table = Results("PendulumQuick", "upright_steps", 512, [1000, 1001], scores).markdown()
    assert "| 0/2 |" in table and "eureka seed 1000:" in table and "eureka seed 1001:" in table
    # one trained seed and one failed one: the mean halves, it does not ignore the failure
    mixed = MethodScore("eureka", seeds=[1000], success=[10.0], returns=[5.0], failed_seeds=[1001])
    assert mixed.success_mean == 5.0 and mixed.success_std == 5.0 and mixed.return_mean == 5.0
