"""Task cards: one YAML file per robot task in envs/robots/, validated by pydantic.

A card says what the task is (description), which gymnasium MuJoCo env it runs on (base_env +
env_kwargs), what the reward writer is shown about the environment (context: the state fields
of :mod:`lifelong.robotics.sim` with their meanings, pruned from the env source the way Eureka
prunes its envs), how success is measured (success metric F: a numpy expression over the batched
state, aggregated over an episode), and two reference rewards written in the same form as LLM
rewards: the human reward (gymnasium's own, or a hand-written one for tasks gymnasium has no reward
for) and a sparse reward (F itself, step-wise, as Eureka's sparse baseline).

Every card is registered with gymnasium as ``lifelong/<Name>-v0``: the base env with the card's
human reward, and ``info["success"]`` / ``info["reward_components"]`` per step.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lifelong.robotics.sim import (
    BatchSim,
    RewardFn,
    State,
    call_reward,
    position_of_data,
    robot_for,
    state_of_data,
)

TASKS_DIR_ENV = "LIFELONG_ROBOT_TASKS_DIR"


class TaskCardError(ValueError):
    """A task card file is malformed; the message names the file and the field."""


class UnknownTaskError(KeyError):
    """No card with that name; the message lists the known tasks."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Context(BaseModel):
    """What the reward writer sees about the environment."""

    model_config = ConfigDict(extra="forbid")
    notes: str = Field(description="frame, units, timestep, what the robot looks like")
    fields: dict[str, str] = Field(description="state field name -> '[shape] meaning'")


class SuccessMetric(BaseModel):
    """Task fitness F: ``expr`` evaluated on the batched state each step, aggregated per episode."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    expr: str = Field(description="numpy expression over state fields, np and dt; value [N]")
    aggregate: Literal["sum", "mean", "max", "min", "final"]

    @field_validator("expr")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            compile(v, "<success.expr>", "eval")
        except SyntaxError as e:
            raise ValueError(f"not a Python expression: {e.msg}") from e
        return v


class TaskCard(BaseModel):
    """One robot task. See the module docstring for what each part is for."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$")
    description: str
    base_env: str
    env_kwargs: dict[str, Any] = {}
    max_episode_steps: int | None = None
    budget: int = Field(gt=0, description="default PPO env-step budget for one candidate")
    ppo: dict[str, Any] = Field(default_factory=dict, description="PPOConfig overrides")
    context: Context
    success: SuccessMetric
    human_reward: str
    sparse_reward: str

    @field_validator("human_reward", "sparse_reward")
    @classmethod
    def _defines_compute_reward(cls, v: str) -> str:
        try:
            code = compile(v, "<reward>", "exec")
        except SyntaxError as e:
            raise ValueError(f"syntax error at line {e.lineno}: {e.msg}") from e
        if "compute_reward" not in code.co_names:
            raise ValueError("must define `def compute_reward(state)`")
        return v

    @property
    def gym_id(self) -> str:
        return f"lifelong/{self.name}-v0"

    def reward_fn(self, which: Literal["human", "sparse"]) -> RewardFn:
        """The card's own (trusted, repository-written) reward as a callable."""
        return compile_trusted_reward(self.human_reward if which == "human" else self.sparse_reward)

    def success_values(self, state: State, dt: float) -> np.ndarray:
        """Per-step value of F's expression, shape [N]."""
        n = len(state["qpos"])
        value = eval(_compiled_expr(self.success.expr), {"np": np, "dt": dt}, dict(state))
        return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,))

    def context_text(self) -> str:
        """The environment context shown to the reward writer (prompt-ready)."""
        lines = [f"Task: {self.name} - {self.description.strip()}", "", self.context.notes.strip(),
                 "", ("compute_reward(state) receives `state`, a dict of numpy float64 arrays, "
                      "one row per parallel environment (N rows):")]
        lines += [f"  state[{k!r}]: {v}" for k, v in self.context.fields.items()]
        return "\n".join(lines)


@lru_cache(maxsize=256)
def _compiled_expr(expr: str):
    return compile(expr, "<success.expr>", "eval")


def compile_trusted_reward(source: str) -> RewardFn:
    """exec a reward from a task card (our own repository files, not LLM output)."""
    namespace: dict[str, Any] = {"np": np, "numpy": np}
    exec(compile(source, "<task card reward>", "exec"), namespace)  # noqa: S102
    return namespace["compute_reward"]


def tasks_dir() -> Path:
    """envs/robots/ of the repository, or $LIFELONG_ROBOT_TASKS_DIR."""
    env = os.environ.get(TASKS_DIR_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "envs" / "robots"


def list_tasks(directory: Path | None = None) -> list[str]:
    return sorted(p.stem for p in (directory or tasks_dir()).glob("*.yaml"))


def load_card_file(path: Path) -> TaskCard:
    """Parse and validate one card; errors name the file and the offending field."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as e:
        raise TaskCardError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise TaskCardError(f"{path}: a task card must be a YAML mapping")
    try:
        card = TaskCard.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" for err in e.errors()
        )
        raise TaskCardError(f"{path}: {problems}") from None
    if card.name != Path(path).stem:
        raise TaskCardError(f"{path}: field 'name': {card.name!r} must match the file name")
    return card


def load_card(name_or_path: str | Path) -> TaskCard:
    """A card by task name (``HalfCheetah``, ``lifelong/HalfCheetah-v0``) or by .yaml path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return load_card_file(p)
    name = str(name_or_path).removeprefix("lifelong/").removesuffix("-v0")
    path = tasks_dir() / f"{name}.yaml"
    if not path.exists():
        known = list_tasks()
        match = next((k for k in known if k.lower() == name.lower()), None)
        if match is None:
            raise UnknownTaskError(f"unknown task {name!r}; known tasks: {', '.join(known)}")
        path = tasks_dir() / f"{match}.yaml"
    return load_card_file(path)


# --- gymnasium registration ----------------------------------------------------------------------


class TaskEnv(gym.Wrapper):
    """The card's base env with the card's reward (human by default) and F in ``info``."""

    def __init__(self, env: gym.Env, card: TaskCard, reward: str = "human"):
        super().__init__(env)
        self.card = card
        self.robot = robot_for(card.base_env)
        self.reward_function = card.reward_fn(reward)  # type: ignore[arg-type]

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        u = self.env.unwrapped
        self._pos = position_of_data(u, self.robot, u.data)
        return obs, info

    def step(self, action: Any):
        obs, _, terminated, truncated, info = self.env.step(action)
        u = self.env.unwrapped
        clipped = np.clip(action, self.action_space.low, self.action_space.high)
        state = state_of_data(u, self.robot, u.data, self._pos, clipped)
        self._pos = position_of_data(u, self.robot, u.data)
        reward, comps = call_reward(self.reward_function, state, 1)
        info = {**info, "success": float(self.card.success_values(state, u.dt)[0]),
                "reward_components": {k: float(v[0]) for k, v in comps.items()}}
        return obs, float(reward[0]), terminated, truncated, info


def make_task_env(task: str, reward: str = "human", **kwargs: Any) -> TaskEnv:
    """gymnasium entry point for ``lifelong/<Task>-v0``."""
    card = load_card(task)
    env = gym.make(card.base_env, **{**card.env_kwargs, **kwargs}).unwrapped
    return TaskEnv(env, card, reward)


def register_all(strict: bool = True) -> list[str]:
    """Register every card as ``lifelong/<Name>-v0`` (idempotent); returns the ids.

    strict=False skips malformed cards (used at import, so one bad card cannot break the package;
    loading that card by name still reports what is wrong with it).
    """
    ids = []
    for name in list_tasks():
        try:
            card = load_card(name)
        except TaskCardError:
            if strict:
                raise
            continue
        steps = card.max_episode_steps or gym.spec(card.base_env).max_episode_steps
        if card.gym_id not in gym.registry:
            gym.register(card.gym_id, entry_point=make_task_env, kwargs={"task": name},
                         max_episode_steps=steps)
        ids.append(card.gym_id)
    return ids


def make_sim(card: TaskCard, num_envs: int, seed: int = 0, nthread: int = 1) -> BatchSim:
    """A BatchSim configured as the card's base env."""
    return BatchSim(card.base_env, num_envs, seed=seed, nthread=nthread,
                    env_kwargs=card.env_kwargs, max_episode_steps=card.max_episode_steps)


register_all(strict=False)
