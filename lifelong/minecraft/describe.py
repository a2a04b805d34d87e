"""The skill manager: name, describe and store a verified program in the library.

Voyager embeds an LLM-written description (<= 6 sentences) rather than the code: retrieval is by
what a skill does. The record also keeps the task it was learned for, the library skills its code
calls (so callers can be loaded with their callees and later skills visibly build on earlier ones),
and the evidence that it worked (inventory before/after, the critic's verdict, the run and round).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifelong.library import Skill, SkillLibrary
from lifelong.minecraft.program import program_info

if TYPE_CHECKING:
    from lifelong.llm import LLM

PROMPTS = Path(__file__).parent / "prompts"
MAX_DESCRIPTION = 1200


class SkillManager:
    """Adds successful programs to the library; re-adding the same code is a no-op (resume)."""

    def __init__(self, llm: LLM, library: SkillLibrary) -> None:
        self.llm = llm
        self.library = library
        self.system = (PROMPTS / "describer.txt").read_text()

    def describe(self, code: str, main: str) -> str:
        reply = self.llm.chat("describer", [
            {"role": "system", "content": self.system},
            {"role": "user", "content": f"{code}\n\nThe main function is `{main}`."},
        ])[0]
        text = " ".join(reply.split())[:MAX_DESCRIPTION]
        return text or f"A program ({main}) that completes a Minecraft task; its description was empty."

    def add(self, task: str, code: str, main: str, evidence: dict[str, Any]) -> Skill:
        if main in self.library and self.library.code(main) == code:
            return self.library.get(main)  # already stored (a task redone after --resume)
        calls = program_info(code).skills(set(self.library.names()))
        description = self.describe(code, main)
        return self.library.add(main, code, kind="minecraft-program", description=description,
                                task=task, calls=calls, evidence=evidence, world="minecraft")
