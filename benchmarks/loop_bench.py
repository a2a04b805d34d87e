"""Per-iteration overhead of the Minecraft loop, without LLM latency and in-game time.

    python benchmarks/loop_bench.py --iterations 30 --library-size 200 --json

What is measured: everything a round does besides waiting for the LLM and for the bot. That is
curriculum bookkeeping, retrieval (query embedding + chroma top-k + reading the records), prompt
building, strict reply parsing, choosing the skills a program calls, the critic, describing and
storing a skill (files + index upsert), the event log and the atomic checkpoint (both fsynced).

How: the real loop, world, agents and library run against the planner back end over local HTTP
(so replies are real programs) and a body that answers at once with the inventory the task asks
for (so every task succeeds and every skill is stored: the most work per round). Time spent inside
``LLM.chat`` and ``env.step`` is measured and subtracted. The target is < 1 s per iteration.

The peer, measured in the same run: the same loop over a library of ``--library-size`` skills vs an
empty one (how overhead grows with the library), and Voyager's way of prompting with the code of
every skill instead of the top-k (prompt size and build time at the same library size).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lifelong.cli.common import progress_bar
from lifelong.config import LLMSettings
from lifelong.embeddings import Embedder
from lifelong.events import Event, RoundDone
from lifelong.library import SkillLibrary
from lifelong.llm import LLM
from lifelong.loop import Loop
from lifelong.minecraft.action import ActionAgent
from lifelong.minecraft.critic import parse_count_task
from lifelong.minecraft.curriculum import Curriculum, QACache
from lifelong.minecraft.planner import planner_models, serve_planner
from lifelong.minecraft.run import minecraft_world
from lifelong.runs import RunDir


class InstantBody:
    """A body that does each task at once: the inventory gains what the task names."""

    def __init__(self) -> None:
        self.inventory: dict[str, int] = {}
        self.task = ""
        self.seconds = 0.0

    def reset(self, **_: Any) -> dict[str, Any]:
        return self.obs()

    def step(self, code: str, skills: Any = None) -> dict[str, Any]:
        t = time.perf_counter()
        spec = parse_count_task(self.task)
        if spec:
            item = spec.items[-1]
            self.inventory[item] = self.inventory.get(item, 0) + spec.count
        obs = self.obs()
        self.seconds += time.perf_counter() - t
        return obs

    def obs(self) -> dict[str, Any]:
        return {"inventory": dict(self.inventory), "inventory_slots_used": len(self.inventory),
                "position": {"x": 0, "y": 64, "z": 0}, "voxels": ["stone", "oak_log", "sand"],
                "blocks_seen": ["gravel"], "entities": {"cow": 8.0}, "chat": [], "error": None,
                "equipment": {}, "chests": {}, "biome": "plains", "time_of_day": "day"}

    def close(self) -> None:
        pass


def fill_library(library: SkillLibrary, n: int) -> None:
    for i in range(n):
        code = f"async function filler{i}(bot) {{\n  await mineBlock(bot, \"stone\", {i % 7 + 1});\n}}\n"
        library.add(f"filler{i}", code, kind="minecraft-program", description=f"Mines {i % 7 + 1} stone blocks near position {i} "
                    f"and returns; variant {i} of a filler skill.", task=f"Mine {i % 7 + 1} stone")


def run_once(iterations: int, library_size: int, embedder: Embedder, base_url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        run = RunDir(tmp_path / "run")
        llm = LLM(LLMSettings(base_url=base_url, models=planner_models(), cache=False), run_dir=run.path, cache_dir=None)
        library = SkillLibrary(tmp_path / "library", embedder=embedder)
        fill_library(library, library_size)
        library.check_index()
        body = InstantBody()
        curriculum = Curriculum(llm, qa=QACache(tmp_path / "qa", embedder), seed=0)
        world = minecraft_world(llm, library, run, body, curriculum=curriculum)
        llm_seconds = [0.0]
        chat = llm.chat

        def timed_chat(*args: Any, **kwargs: Any) -> list[str]:
            t = time.perf_counter()
            try:
                return chat(*args, **kwargs)
            finally:
                llm_seconds[0] += time.perf_counter() - t

        llm.chat = timed_chat  # type: ignore[method-assign]  # measuring, not replacing
        propose = world.propose

        def tracked_propose():  # the body needs to know the task to fake its effect
            task = propose()
            body.task = task.name if task else ""
            return task

        world.propose = tracked_propose  # type: ignore[method-assign]
        world.start()
        with progress_bar(f"iterations (library of {library_size})") as advance:
            rounds = [0]

            def on_event(event: Event) -> None:
                if isinstance(event, RoundDone):
                    rounds[0] += 1
                    advance(rounds[0], iterations)

            t0 = time.perf_counter()
            state = Loop(world, run, rounds=2, on_event=on_event).run(iterations)
            total = time.perf_counter() - t0
        overhead = total - llm_seconds[0] - body.seconds
        skills = [s for s in library.list() if not s.name.startswith("filler")]
        # Voyager's prompt: every skill's code, vs ours: primitives + top-k
        t = time.perf_counter()
        full = "\n\n".join(library.code(s.name) for s in library.list())
        full_ms = (time.perf_counter() - t) * 1000
        action = ActionAgent(llm, library)
        t = time.perf_counter()
        topk = action.system_message(action.retrieve("Craft 1 iron pickaxe", ""))
        topk_ms = (time.perf_counter() - t) * 1000
        return {
            "library_size": library_size,
            "iterations": state.iteration,
            "skills_stored": len(skills),
            "overhead_s_per_iteration": round(overhead / max(1, state.iteration), 4),
            "llm_s_per_iteration": round(llm_seconds[0] / max(1, state.iteration), 4),
            "prompt_chars_topk": len(topk),
            "prompt_ms_topk": round(topk_ms, 2),
            "prompt_chars_all_skills": len(full),
            "prompt_ms_all_skills": round(full_ms, 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--library-size", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print only the JSON")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # as `lifelong explore` does: the cores are shared with Node and the server
    embedder = Embedder()
    embedder.encode(["warm up"])
    server = serve_planner()
    try:
        empty = run_once(args.iterations, 0, embedder, server.base_url)
        big = run_once(args.iterations, args.library_size, embedder, server.base_url)
    finally:
        server.close()
    result = {
        "empty_library": empty,
        "large_library": big,
        "overhead_s_per_iteration": big["overhead_s_per_iteration"],
        "target_s": 1.0,
        "meets_target": big["overhead_s_per_iteration"] < 1.0,
        "ratio_large_vs_empty_library": round(big["overhead_s_per_iteration"] /
                                              max(1e-9, empty["overhead_s_per_iteration"]), 2),
        "ratio_prompt_chars_all_skills_vs_topk": round(big["prompt_chars_all_skills"] /
                                                       max(1, big["prompt_chars_topk"]), 2),
    }
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
