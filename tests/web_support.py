"""Builders of real library and run folders for the web tests (no tests in this file).

Everything here goes through the code paths that produce these folders in real use: the
Minecraft loop (``Loop`` + ``MinecraftWorld`` with the scripted LLM over HTTP and the body double
from ``test_explore_support``) and the Eureka loop (``run_eureka`` training real PPO on a small
InvertedPendulum card, with a scripted reward writer). Nothing writes a run file by hand.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import yaml
from test_explore_support import make_world, reply

from lifelong.config import LLMSettings
from lifelong.library import SkillLibrary
from lifelong.llm import LLM
from lifelong.loop import Loop
from lifelong.openai_server import ChatServer
from lifelong.robotics.eureka import EurekaConfig, run_eureka
from lifelong.runs import RunDir

# A description an LLM could well write: HTML and script must show as text, never run.
HOSTILE_DESCRIPTION = 'Collects logs <script>window.pwned=1</script> & <b>bold</b> "quoted"'

MINE_LOG = 'async function mineWoodLog(bot) {\n  await mineBlock(bot, "oak_log", 2);\n}'
MINE_LOG_V2 = ('async function mineWoodLog(bot) {\n  // relearned: three logs, enough for a table\n'
               '  await mineBlock(bot, "oak_log", 3);\n}')
PLANKS_BROKEN = ('async function craftPlanks(bot) {\n  await mineWoodLog(bot);\n'
                 '  throw new Error("no oak_log in the inventory");\n}')
PLANKS = 'async function craftPlanks(bot) {\n  await mineWoodLog(bot);\n  await craftItem(bot, "oak_planks", 1);\n}'
TABLE = ('async function craftCraftingTable(bot) {\n  await craftPlanks(bot);\n'
         '  await craftItem(bot, "crafting_table", 1);\n}')


def minecraft_run(base: Path, embedder) -> tuple[Path, Path]:
    """Four tasks, five rounds: a failed round with its error and critique, skills that call
    each other (craftCraftingTable -> craftPlanks -> mineWoodLog) and a relearned skill (v2).
    Returns (run folder, library folder)."""
    script = [
        reply(MINE_LOG), HOSTILE_DESCRIPTION,
        "Reasoning: logs become planks\nTask: Craft 4 planks", "Answer: one log gives 4 planks.",
        reply(PLANKS_BROKEN), reply(PLANKS), "Mines a log, then crafts it into four oak planks.",
        "Reasoning: a table unlocks tools\nTask: Craft 1 crafting table",
        "Answer: 4 planks in the 2x2 grid.",
        reply(TABLE), "Crafts planks, then a crafting table from four of them.",
        "Reasoning: more wood\nTask: Mine 3 wood log", "Answer: mine any log with the hand.",
        reply(MINE_LOG_V2), "Mines three oak logs with the hand.",
    ]
    with ChatServer.scripted(script) as server:
        world, _, library, run, _ = make_world(server.base_url, base, embedder=embedder)
        run.log("run_started", llm="scripted", curriculum="auto", seed=0)
        Loop(world, run, rounds=2).run(iterations=5)
    return run.path, library.root


# Eureka: one candidate the sandbox rejects (an import of os) and one sound reward per iteration.
REJECTED = "import os\nimport numpy as np\n\ndef compute_reward(state):\n    return state['upright'], {}\n"
SOUND = '''import numpy as np

def compute_reward(state):
    upright = np.exp(-10.0 * np.abs(state["pole_angle"]))
    centre = -0.1 * state["cart_position"] ** 2
    return upright + centre, {"upright": upright, "centre": centre}
'''
SOUND_V2 = SOUND.replace("-10.0", "-5.0")
EUREKA_STEPS = 4096
# tests/test_eureka.py's small batches: 4,096 steps are 8 PPO updates (8 points on each curve),
# enough for the shaped reward to beat the sparse one, as the library's rule for storing demands.
PPO = {"num_envs": 16, "num_steps": 32, "epochs": 10, "minibatches": 4, "lr": 3e-4,
       "anneal_lr": True, "gamma": 0.99, "gae_lambda": 0.95, "clip_coef": 0.2, "ent_coef": 0.0,
       "vf_coef": 0.5, "max_grad_norm": 0.5, "hidden": [64, 64], "init_log_std": 0.0,
       "norm_obs": True, "norm_reward": True, "target_kl": None, "desired_kl": None}


def _reward_reply(code: str) -> str:
    return f"Keep the pole upright and the cart centred.\n\n```python\n{code.strip()}\n```\n"


def eureka_card(folder: Path) -> Path:
    """InvertedPendulum's card with a small budget and a hand-written human reward (gymnasium's
    reward is its sparse one, which leaves the normalised score undefined)."""
    card = yaml.safe_load((Path(__file__).parents[1] / "envs/robots/InvertedPendulum.yaml").read_text())
    card.update(
        name="PendulumWeb", budget=EUREKA_STEPS, ppo=PPO,
        human_reward=("def compute_reward(state):\n    upright = state['upright']\n"
                      "    centre = -0.1 * state['cart_position'] ** 2\n"
                      "    return upright + centre, {'upright': upright, 'centre': centre}\n"),
    )
    path = folder / "PendulumWeb.yaml"
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    return path


def eureka_run(base: Path, library: SkillLibrary) -> Path:
    """Two iterations of two samples, then the final evaluation (1 seed per method); the reward
    and the policy checkpoint go into ``library``. Returns the run folder."""
    card = eureka_card(base)
    run = RunDir(base / "eureka-run")
    rounds = [[_reward_reply(REJECTED), _reward_reply(SOUND)],
              [_reward_reply(SOUND_V2), "A reward should balance the pole."]]
    config = EurekaConfig(samples=2, steps=EUREKA_STEPS, seeds=1, workers=2, examples=0,
                          first_call_timeout_s=2.0, call_timeout_s=2.0)
    with ChatServer.scripted(rounds) as server:
        llm = LLM(LLMSettings(base_url=server.base_url, max_retries=0), run_dir=run.path, cache_dir=None)
        run_eureka(card, llm, run, iterations=2, config=config, library=library)
    return run.path


def web_data(base: Path, embedder, with_eureka: bool = True) -> tuple[Path, Path]:
    """A library and a runs root holding a Minecraft run ("run") and, with ``with_eureka``, a
    Eureka run ("eureka-run") whose reward and policy are in the same library.
    Returns (library folder, runs root)."""
    _, library_dir = minecraft_run(base, embedder)
    if with_eureka:
        eureka_run(base, SkillLibrary(library_dir, embedder=embedder))
    return library_dir, base


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
