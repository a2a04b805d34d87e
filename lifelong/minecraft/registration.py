"""Minecraft's names in the core's registry (:mod:`lifelong.worlds`): its skill kind and LLM roles.

Imported on demand by :func:`lifelong.worlds.load_worlds`, so it must stay cheap: no game data,
no Node, no LLM client.
"""

from __future__ import annotations

from lifelong.worlds import register_world

WORLD = "minecraft"
PROGRAM = "minecraft-program"
"""A JavaScript program for the mineflayer bot: ``async function name(bot) {...}``."""
ROLES = {
    "curriculum": "gpt-4o",
    "action": "gpt-4o",
    "critic": "gpt-4o",
    "describer": "gpt-4o-mini",  # cheap models can describe skills and answer questions
    "qa": "gpt-4o-mini",
}

register_world(WORLD, kinds={PROGRAM: ".js"}, roles=ROLES, import_formats={"voyager": "lifelong.minecraft.voyager"})
