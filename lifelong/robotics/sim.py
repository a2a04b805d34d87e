"""Batched MuJoCo simulation with named, batched state: the substrate rewards are written against.

Why a hand-written stepper instead of gymnasium's vector envs: ``mujoco.batch.Batch`` steps N copies
of one model on a C thread pool, faster than gymnasium's ``SyncVectorEnv`` in the same process
(``benchmarks/sim_bench.py``; figures: the README's Benchmarks table, ``make bench-report``).
``BatchSim`` reproduces gymnasium v5's physics, observations, resets and terminations exactly
(tests/test_robot_tasks.py compares them step by step), so a policy trained here runs unchanged
in ``gymnasium.make("<Base>-v5")``. One known difference: for Ant and Humanoid,
``contact_forces`` (``cfrc_ext``) are MuJoCo's in-step values (requested through a probe sensor),
while gymnasium recomputes them after the step; the two differ on some steps. They only enter the
observation and the tiny contact-cost term.

The state/reward interface (what the reward writer, the sandbox and the prompts build on)
-------------------------------------------------------------------------------------------
After every step ``BatchSim.step`` returns a ``state``: ``dict[str, np.ndarray]`` whose arrays all
have a leading batch dimension N (one row per simulated environment), float64:

* always present: ``qpos`` [N, nq], ``qvel`` [N, nv] (MuJoCo's generalized coordinates) and
  ``action`` [N, nu] (the action applied during this step, clipped to [-1, 1]-style ctrl ranges);
* robot fields named in the task card's ``context`` (``x_velocity`` [N], ``root_z`` [N],
  ``contact_forces`` [N, nbody, 6], ``fingertip_to_target`` [N, 3], ...). Every field is the value
  *after* the step; quantities that need the previous step (velocities obtained by finite
  differences, exactly as gymnasium computes them) are provided as fields, so a reward never needs
  the previous state.

A reward function has the signature::

    def compute_reward(state: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        ...
        return reward, {"component_name": component, ...}

``reward`` has shape [N]; each component has shape [N] (scalars are broadcast by ``call_reward``).
The trainer logs the mean of every component over training (Eureka's reflection input). The human
(gymnasium) reward and the sparse reward of each task card are written in exactly this form
(``envs/robots/*.yaml``), so every reward - human, sparse or LLM-written - plugs in the same way.
The state arrays are live buffers for one step only: a reward must not keep references to them.

Episodes: an env whose episode ends (gymnasium's termination rule, or the time limit) is reset
automatically inside ``step``; the returned ``obs`` is then the first observation of the new
episode, while ``state``/``final_obs`` describe the step that ended the old one (needed to
bootstrap values at time-limit truncation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from mujoco.batch import Batch

State = dict[str, np.ndarray]
RewardFn = Callable[[State], tuple[np.ndarray, dict[str, np.ndarray]]]


class RewardShapeError(ValueError):
    """A reward function returned something other than (reward[N], {name: [N]}) of finite floats."""


@dataclass(frozen=True)
class Robot:
    """How one gymnasium MuJoCo family maps raw MjData to state, observation, termination, reset.

    Every callable takes the unwrapped gymnasium env first (``u``): its attributes (init_qpos,
    healthy ranges, reset noise, ...) carry the base env's kwargs, so cards can change them.
    """

    raw: tuple[str, ...]
    state: Callable[[Any, dict[str, np.ndarray], np.ndarray, float], State]
    obs: Callable[[Any, dict[str, np.ndarray]], np.ndarray]
    terminated: Callable[[Any, State], np.ndarray]
    reset: Callable[[Any, np.random.Generator, int], tuple[np.ndarray, np.ndarray]]
    position: Callable[[Any, dict[str, np.ndarray]], np.ndarray] | None = None
    needs_contact_forces: bool = False


# --- helpers -------------------------------------------------------------------------------------


def _never(u: Any, s: State) -> np.ndarray:
    return np.zeros(len(s["qpos"]), dtype=bool)


def _uniform_reset(qvel_normal: bool) -> Callable[[Any, np.random.Generator, int], tuple]:
    """gymnasium's common reset: qpos += U(-s, s); qvel += U(-s, s) or s * N(0, 1)."""

    def reset(u: Any, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        s = u._reset_noise_scale
        qpos = u.init_qpos + rng.uniform(-s, s, size=(n, u.model.nq))
        if qvel_normal:
            qvel = u.init_qvel + s * rng.standard_normal((n, u.model.nv))
        else:
            qvel = u.init_qvel + rng.uniform(-s, s, size=(n, u.model.nv))
        return qpos, qvel

    return reset


def _x_of_qpos(u: Any, raw: dict[str, np.ndarray]) -> np.ndarray:
    return raw["qpos"][:, 0:1]


def _xy_of_qpos(u: Any, raw: dict[str, np.ndarray]) -> np.ndarray:
    return raw["qpos"][:, 0:2]


def _torso_xy(u: Any, raw: dict[str, np.ndarray]) -> np.ndarray:
    return raw["xpos"][:, u._main_body, 0:2]


def _mass_center_xy(u: Any, raw: dict[str, np.ndarray]) -> np.ndarray:
    mass = u.model.body_mass
    return (raw["xipos"] * mass[None, :, None]).sum(1)[:, 0:2] / mass.sum()


def _planar_state(u: Any, raw: dict, vel: np.ndarray, dt: float) -> State:
    """Planar walkers (HalfCheetah, Hopper, Walker2d): qpos = [rootx, rootz, rooty, joints...]."""
    qpos, qvel = raw["qpos"], raw["qvel"]
    return {
        "x_position": qpos[:, 0],
        "x_velocity": vel[:, 0],
        "root_z": qpos[:, 1],
        "root_pitch": qpos[:, 2],
        "root_x_velocity": qvel[:, 0],
        "root_z_velocity": qvel[:, 1],
        "root_pitch_velocity": qvel[:, 2],
        "joint_angles": qpos[:, 3:],
        "joint_velocities": qvel[:, 3:],
    }


def _planar_obs(clip_qvel: bool) -> Callable[[Any, dict], np.ndarray]:
    def obs(u: Any, raw: dict) -> np.ndarray:
        skip = int(u._exclude_current_positions_from_observation)
        qvel = np.clip(raw["qvel"], -10, 10) if clip_qvel else raw["qvel"]
        return np.concatenate([raw["qpos"][:, skip:], qvel], axis=1)

    return obs


def _hopper_healthy(u: Any, raw: dict) -> np.ndarray:
    qpos, qvel = raw["qpos"], raw["qvel"]
    z, angle = qpos[:, 1], qpos[:, 2]
    rest = np.concatenate([qpos, qvel], axis=1)[:, 2:]
    lo, hi = u._healthy_state_range
    zlo, zhi = u._healthy_z_range
    alo, ahi = u._healthy_angle_range
    ok_state = np.all((lo < rest) & (rest < hi), axis=1)
    return ok_state & (zlo < z) & (z < zhi) & (alo < angle) & (angle < ahi)


def _walker_healthy(u: Any, raw: dict) -> np.ndarray:
    z, angle = raw["qpos"][:, 1], raw["qpos"][:, 2]
    zlo, zhi = u._healthy_z_range
    alo, ahi = u._healthy_angle_range
    return (zlo < z) & (z < zhi) & (alo < angle) & (angle < ahi)


def _with_healthy(healthy: Callable[[Any, dict], np.ndarray]) -> Callable:
    def state(u: Any, raw: dict, vel: np.ndarray, dt: float) -> State:
        s = _planar_state(u, raw, vel, dt)
        s["healthy"] = healthy(u, raw).astype(np.float64)
        return s

    return state


def _unhealthy_terminates(u: Any, s: State) -> np.ndarray:
    if not u._terminate_when_unhealthy:
        return np.zeros(len(s["qpos"]), dtype=bool)
    return s["healthy"] < 0.5


# --- robots --------------------------------------------------------------------------------------


def _swimmer_state(u: Any, raw: dict, vel: np.ndarray, dt: float) -> State:
    qpos, qvel = raw["qpos"], raw["qvel"]
    return {
        "x_position": qpos[:, 0],
        "y_position": qpos[:, 1],
        "x_velocity": vel[:, 0],
        "y_velocity": vel[:, 1],
        "body_angle": qpos[:, 2],
        "body_angular_velocity": qvel[:, 2],
        "joint_angles": qpos[:, 3:],
        "joint_velocities": qvel[:, 3:],
    }


def _swimmer_obs(u: Any, raw: dict) -> np.ndarray:
    skip = 2 if u._exclude_current_positions_from_observation else 0
    return np.concatenate([raw["qpos"][:, skip:], raw["qvel"]], axis=1)


def _free_body_state(u: Any, raw: dict, vel: np.ndarray, xy: np.ndarray) -> State:
    """Ant/Humanoid: qpos = [x, y, z, quat(4), joints...], qvel = [lin(3), ang(3), joints...]."""
    qpos, qvel = raw["qpos"], raw["qvel"]
    return {
        "x_position": xy[:, 0],
        "y_position": xy[:, 1],
        "x_velocity": vel[:, 0],
        "y_velocity": vel[:, 1],
        "torso_z": qpos[:, 2],
        "torso_quat": qpos[:, 3:7],
        "torso_linear_velocity": qvel[:, 0:3],
        "torso_angular_velocity": qvel[:, 3:6],
        "joint_angles": qpos[:, 7:],
        "joint_velocities": qvel[:, 6:],
        "contact_forces": raw["cfrc_ext"],
    }


def _ant_state(u: Any, raw: dict, vel: np.ndarray, dt: float) -> State:
    s = _free_body_state(u, raw, vel, _torso_xy(u, raw))
    full = np.concatenate([raw["qpos"], raw["qvel"]], axis=1)
    zlo, zhi = u._healthy_z_range
    z = raw["qpos"][:, 2]
    s["healthy"] = (np.isfinite(full).all(1) & (zlo <= z) & (z <= zhi)).astype(np.float64)
    return s


def _ant_obs(u: Any, raw: dict) -> np.ndarray:
    skip = 2 if u._exclude_current_positions_from_observation else 0
    parts = [raw["qpos"][:, skip:], raw["qvel"]]
    if u._include_cfrc_ext_in_observation:
        lo, hi = u._contact_force_range
        parts.append(np.clip(raw["cfrc_ext"][:, 1:], lo, hi).reshape(len(raw["qpos"]), -1))
    return np.concatenate(parts, axis=1)


def _humanoid_state(u: Any, raw: dict, vel: np.ndarray, dt: float) -> State:
    s = _free_body_state(u, raw, vel, _mass_center_xy(u, raw))
    zlo, zhi = u._healthy_z_range
    z = raw["qpos"][:, 2]
    s["healthy"] = ((zlo < z) & (z < zhi)).astype(np.float64)
    return s


def _humanoid_obs(u: Any, raw: dict) -> np.ndarray:
    n = len(raw["qpos"])
    skip = 2 if u._exclude_current_positions_from_observation else 0
    parts = [raw["qpos"][:, skip:], raw["qvel"]]
    if u._include_cinert_in_observation:
        parts.append(raw["cinert"][:, 1:].reshape(n, -1))
    if u._include_cvel_in_observation:
        parts.append(raw["cvel"][:, 1:].reshape(n, -1))
    if u._include_qfrc_actuator_in_observation:
        parts.append(raw["qfrc_actuator"][:, 6:])
    if u._include_cfrc_ext_in_observation:
        parts.append(raw["cfrc_ext"][:, 1:].reshape(n, -1))
    return np.concatenate(parts, axis=1)


def _body_pos(u: Any, raw: dict, name: str) -> np.ndarray:
    return raw["xpos"][:, u.model.body(name).id]


def _reacher_state(u: Any, raw: dict, vel: np.ndarray, dt: float) -> State:
    tip, target = _body_pos(u, raw, "fingertip"), _body_pos(u, raw, "target")
    vec = tip - target
    return {
        "fingertip_pos": tip,
        "target_pos": target,
        "fingertip_to_target": vec,
        "distance": np.linalg.norm(vec, axis=1),
        "joint_angles": raw["qpos"][:, :2],
        "joint_velocities": raw["qvel"][:, :2],
    }


def _reacher_obs(u: Any, raw: dict) -> np.ndarray:
    qpos, theta = raw["qpos"], raw["qpos"][:, :2]
    vec = _body_pos(u, raw, "fingertip") - _body_pos(u, raw, "target")
    return np.concatenate(
        [np.cos(theta), np.sin(theta), qpos[:, 2:], raw["qvel"][:, :2], vec[:, :2]], axis=1
    )


def _reacher_reset(u: Any, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    qpos = rng.uniform(-0.1, 0.1, size=(n, u.model.nq)) + u.init_qpos
    for i in range(n):  # gymnasium's rejection sampling of a goal inside the 0.2 disc
        while True:
            goal = rng.uniform(-0.2, 0.2, size=2)
            if np.linalg.norm(goal) < 0.2:
                break
        qpos[i, -2:] = goal
    qvel = u.init_qvel + rng.uniform(-0.005, 0.005, size=(n, u.model.nv))
    qvel[:, -2:] = 0
    return qpos, qvel


def _pusher_state(u: Any, raw: dict, vel: np.ndarray, dt: float) -> State:
    tips, obj, goal = (_body_pos(u, raw, b) for b in ("tips_arm", "object", "goal"))
    return {
        "tips_arm_pos": tips,
        "object_pos": obj,
        "goal_pos": goal,
        "arm_to_object_distance": np.linalg.norm(obj - tips, axis=1),
        "object_to_goal_distance": np.linalg.norm(obj - goal, axis=1),
        "joint_angles": raw["qpos"][:, :7],
        "joint_velocities": raw["qvel"][:, :7],
    }


def _pusher_obs(u: Any, raw: dict) -> np.ndarray:
    bodies = [_body_pos(u, raw, b) for b in ("tips_arm", "object", "goal")]
    return np.concatenate([raw["qpos"][:, :7], raw["qvel"][:, :7], *bodies], axis=1)


def _pusher_reset(u: Any, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    qpos = np.tile(u.init_qpos, (n, 1))
    for i in range(n):  # gymnasium's rejection sampling of the cylinder position
        while True:
            cyl = np.concatenate([rng.uniform(-0.3, 0, size=1), rng.uniform(-0.2, 0.2, size=1)])
            if np.linalg.norm(cyl) > 0.17:
                break
        qpos[i, -4:-2] = cyl
    qpos[:, -2:] = 0.0
    qvel = u.init_qvel + rng.uniform(-0.005, 0.005, size=(n, u.model.nv))
    qvel[:, -4:] = 0
    return qpos, qvel


def _pendulum_state(u: Any, raw: dict, vel: np.ndarray, dt: float) -> State:
    qpos, qvel = raw["qpos"], raw["qvel"]
    finite = np.isfinite(np.concatenate([qpos, qvel], axis=1)).all(1)
    return {
        "cart_position": qpos[:, 0],
        "pole_angle": qpos[:, 1],
        "cart_velocity": qvel[:, 0],
        "pole_angular_velocity": qvel[:, 1],
        "upright": (finite & (np.abs(qpos[:, 1]) <= 0.2)).astype(np.float64),
    }


def _double_pendulum_state(u: Any, raw: dict, vel: np.ndarray, dt: float) -> State:
    qpos, qvel, tip = raw["qpos"], raw["qvel"], raw["site_xpos"][:, 0]
    return {
        "cart_position": qpos[:, 0],
        "hinge_angles": qpos[:, 1:3],
        "cart_velocity": qvel[:, 0],
        "hinge_angular_velocities": qvel[:, 1:3],
        "tip_x": tip[:, 0],
        "tip_height": tip[:, 2],
        "alive": (tip[:, 2] > 1).astype(np.float64),
    }


def _double_pendulum_obs(u: Any, raw: dict) -> np.ndarray:
    qpos = raw["qpos"]
    return np.concatenate(
        [
            qpos[:, :1],
            np.sin(qpos[:, 1:]),
            np.cos(qpos[:, 1:]),
            np.clip(raw["qvel"], -10, 10),
            np.clip(raw["qfrc_constraint"], -10, 10)[:, :1],
        ],
        axis=1,
    )


ROBOTS: dict[str, Robot] = {
    "HalfCheetah": Robot(
        ("qpos", "qvel"), _planar_state, _planar_obs(False), _never, _uniform_reset(True),
        _x_of_qpos,
    ),
    "Hopper": Robot(
        ("qpos", "qvel"), _with_healthy(_hopper_healthy), _planar_obs(True),
        _unhealthy_terminates, _uniform_reset(False), _x_of_qpos,
    ),
    "Walker2d": Robot(
        ("qpos", "qvel"), _with_healthy(_walker_healthy), _planar_obs(True),
        _unhealthy_terminates, _uniform_reset(False), _x_of_qpos,
    ),
    "Swimmer": Robot(
        ("qpos", "qvel"), _swimmer_state, _swimmer_obs, _never, _uniform_reset(False),
        _xy_of_qpos,
    ),
    "Ant": Robot(
        ("qpos", "qvel", "xpos", "cfrc_ext"), _ant_state, _ant_obs, _unhealthy_terminates,
        _uniform_reset(True), _torso_xy, needs_contact_forces=True,
    ),
    "Humanoid": Robot(
        ("qpos", "qvel", "xipos", "cinert", "cvel", "qfrc_actuator", "cfrc_ext"),
        _humanoid_state, _humanoid_obs, _unhealthy_terminates, _uniform_reset(False),
        _mass_center_xy, needs_contact_forces=True,
    ),
    "Reacher": Robot(("qpos", "qvel", "xpos"), _reacher_state, _reacher_obs, _never, _reacher_reset),
    "Pusher": Robot(("qpos", "qvel", "xpos"), _pusher_state, _pusher_obs, _never, _pusher_reset),
    "InvertedPendulum": Robot(
        ("qpos", "qvel"), _pendulum_state,
        lambda u, raw: np.concatenate([raw["qpos"], raw["qvel"]], axis=1),
        lambda u, s: s["upright"] < 0.5, _uniform_reset(False),
    ),
    "InvertedDoublePendulum": Robot(
        ("qpos", "qvel", "site_xpos", "qfrc_constraint"), _double_pendulum_state,
        _double_pendulum_obs, lambda u, s: s["alive"] < 0.5, _uniform_reset(True),
    ),
}


def robot_for(base_env: str) -> Robot:
    """The Robot of a gymnasium id such as ``HalfCheetah-v5`` (family = the part before ``-v``)."""
    family = base_env.split("/")[-1].rsplit("-v", 1)[0]
    if family not in ROBOTS:
        raise KeyError(f"no batched simulator for {base_env!r}; supported: {', '.join(ROBOTS)}")
    return ROBOTS[family]


def state_of_data(u: Any, robot: Robot, data: mujoco.MjData, pos_before: np.ndarray | None,
                  action: np.ndarray) -> State:
    """The same named state for ONE gymnasium env (N = 1): used by the registered task envs."""
    raw = {k: np.array(getattr(data, k))[None] for k in robot.raw}
    return _assemble(u, robot, raw, pos_before, np.asarray(action, dtype=np.float64)[None])


def position_of_data(u: Any, robot: Robot, data: mujoco.MjData) -> np.ndarray | None:
    if robot.position is None:
        return None
    raw = {k: np.array(getattr(data, k))[None] for k in robot.raw}
    return robot.position(u, raw).copy()


def _assemble(u: Any, robot: Robot, raw: dict, pos_before: np.ndarray | None,
              action: np.ndarray) -> State:
    if robot.position is not None and pos_before is not None:
        vel = (robot.position(u, raw) - pos_before) / u.dt
    else:
        vel = np.zeros((len(raw["qpos"]), 2))
    state = robot.state(u, raw, vel, u.dt)
    state["qpos"], state["qvel"], state["action"] = raw["qpos"], raw["qvel"], action
    return state


def call_reward(fn: RewardFn, state: State, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run a reward function and normalise its output to float64 arrays of shape [n].

    Raises RewardShapeError with a message the LLM can act on (wrong type, shape, NaN/inf).
    """
    out = fn(state)
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
        raise RewardShapeError("compute_reward must return (reward, {component_name: array})")
    reward = _as_batch(out[0], n, "reward")
    comps = {str(k): _as_batch(v, n, f"component {k!r}") for k, v in out[1].items()}
    return reward, comps


def _as_batch(x: Any, n: int, what: str) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise RewardShapeError(f"{what} has shape {arr.shape}, expected ({n},) - one value per env")
    if not np.isfinite(arr).all():
        raise RewardShapeError(f"{what} contains NaN or inf")
    return arr


@dataclass
class StepResult:
    obs: np.ndarray          # [N, obs_dim] float32, after auto-reset (what the policy sees next)
    state: State             # named state of the step just taken (before any reset)
    terminated: np.ndarray   # [N] bool: gymnasium's termination rule fired
    truncated: np.ndarray    # [N] bool: time limit reached (and not terminated)
    final_obs: np.ndarray    # [N, obs_dim] float32: observation before the reset (for bootstrap)


def _probe_model(u: Any, robot: Robot) -> mujoco.MjModel:
    """The base env's model; plus a force sensor if cfrc_ext must be computed inside mj_step."""
    if not robot.needs_contact_forces:
        return u.model
    spec = mujoco.MjSpec.from_file(u.fullpath)
    spec.worldbody.first_body().add_site(name="_lifelong_rne_probe")
    spec.add_sensor(type=mujoco.mjtSensor.mjSENS_FORCE, objtype=mujoco.mjtObj.mjOBJ_SITE,
                    objname="_lifelong_rne_probe", name="_lifelong_rne_probe")
    return spec.compile()


class BatchSim:
    """N copies of a gymnasium MuJoCo v5 env stepped by ``mujoco.batch.Batch``.

    ``base_env``/``env_kwargs`` are exactly what ``gymnasium.make`` takes: one real gymnasium env is
    built to read its model, frame skip, init state, noise scales and health ranges, so the batch
    follows the same configuration.
    """

    def __init__(self, base_env: str, num_envs: int, seed: int = 0, nthread: int = 1,
                 env_kwargs: dict[str, Any] | None = None, max_episode_steps: int | None = None):
        self.base_env = base_env
        self.num_envs = num_envs
        self.robot = robot_for(base_env)
        env = gym.make(base_env, **(env_kwargs or {}))
        self.max_episode_steps = max_episode_steps or env.spec.max_episode_steps or 1000
        self.u = env.unwrapped
        self.model = _probe_model(self.u, self.robot)
        self.frame_skip = int(self.u.frame_skip)
        self.dt = float(self.u.dt)
        self.batch = Batch(self.model, num_envs, nthread=nthread)
        self.raw = {k: self.batch.bind(k) for k in self.robot.raw}
        self.ctrl = self.batch.bind("ctrl")
        lo, hi = self.u.model.actuator_ctrlrange.T.copy()
        self.action_low, self.action_high = lo, hi
        self.action_dim = self.u.model.nu
        self.rng = np.random.default_rng(seed)
        self.t = np.zeros(num_envs, dtype=np.int64)
        self._pos = None
        self.obs_dim = self.reset().shape[1]

    def reset(self, ids: np.ndarray | None = None) -> np.ndarray:
        """Reset all envs (ids=None) or some; returns the observation of all envs [N, obs]."""
        ids = np.arange(self.num_envs) if ids is None else np.asarray(ids)
        if len(ids):
            self.batch.reset(ids, stage=mujoco.mjtStage.mjSTAGE_NONE)
            qpos, qvel = self.robot.reset(self.u, self.rng, len(ids))
            self.raw["qpos"][ids] = qpos
            self.raw["qvel"][ids] = qvel
            self.batch.forward(ids)
            self.t[ids] = 0
            if self.robot.position is not None:
                if self._pos is None:
                    self._pos = np.zeros((self.num_envs, self.robot.position(self.u, self.raw).shape[1]))
                self._pos[ids] = self.robot.position(self.u, self.raw)[ids]
        return self._obs()

    def reset_seeded(self, seeds: list[int]) -> np.ndarray:
        """Reset env i from its own ``np.random.default_rng(seeds[i])``: the start state of an
        evaluation episode depends only on its seed, not on N or on the other envs."""
        assert len(seeds) == self.num_envs, "one seed per env"
        self.batch.reset(stage=mujoco.mjtStage.mjSTAGE_NONE)
        for i, seed in enumerate(seeds):
            qpos, qvel = self.robot.reset(self.u, np.random.default_rng(seed), 1)
            self.raw["qpos"][i], self.raw["qvel"][i] = qpos[0], qvel[0]
        self.batch.forward()
        self.t[:] = 0
        if self.robot.position is not None:
            self._pos = self.robot.position(self.u, self.raw).copy()
        return self._obs()

    def _obs(self) -> np.ndarray:
        return self.robot.obs(self.u, self.raw).astype(np.float32)

    def step(self, action: np.ndarray) -> StepResult:
        """Apply ``action`` [N, nu] for frame_skip substeps; auto-reset finished episodes."""
        action = np.clip(np.asarray(action, dtype=np.float64), self.action_low, self.action_high)
        self.ctrl[:] = action
        self.batch.step(nstep=self.frame_skip)
        raw = {k: v.copy() for k, v in self.raw.items()}
        state = _assemble(self.u, self.robot, raw, self._pos, action)
        if self.robot.position is not None:
            self._pos = self.robot.position(self.u, raw).copy()
        self.t += 1
        terminated = self.robot.terminated(self.u, state)
        truncated = (self.t >= self.max_episode_steps) & ~terminated
        final_obs = self._obs()
        done = np.flatnonzero(terminated | truncated)
        obs = self.reset(done) if len(done) else final_obs
        return StepResult(obs, state, terminated, truncated, final_obs)
