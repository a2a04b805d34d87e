"""The action agent: writes one JavaScript program per round for the current task.

The prompt is Voyager's: the primitives' short docs and the top-k library skills in the system
message; the observation, the task, its context and the last round's code, error, chat and critique
in the user message. The reply must be ``Explain / Plan / Code`` with exactly one JavaScript block
whose last top-level async function takes ``bot`` (the runner's own reading of the code:
:mod:`lifelong.minecraft.program`). Anything else is answered with what was wrong and a request to
reply again (up to ``parse_retries`` times, :func:`lifelong.ask.ask`), never a crash.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from lifelong.ask import ChatLLM, ask
from lifelong.library import Skill, SkillLibrary
from lifelong.minecraft.program import program_info

PROMPTS = Path(__file__).parent / "prompts"
PRIMITIVES_DIR = Path(__file__).resolve().parents[2] / "skills" / "minecraft" / "primitives"
CODE_BLOCK = re.compile(r"```[ \t]*([A-Za-z]*)[ \t]*\n(.*?)```", re.DOTALL)
PRIMITIVE_DEFINITION = re.compile(r"^(?:async\s+)?function\s+([A-Za-z][\w$]*)\s*\(", re.MULTILINE)
RETRY_FORMAT = "Reply again in the RESPONSE FORMAT: Explain: ..., Plan: ..., Code: with one ```javascript block."


@cache
def primitive_names() -> frozenset[str]:
    """The functions the primitives give programs: every public top-level function of
    ``skills/minecraft/primitives/*.js`` (a leading ``_`` marks a private helper). The one list,
    read from the files the bot loads, for the action agent and the planner alike. A regular
    expression suffices here: these are the project's own files, one declaration per line."""
    return frozenset(name for path in PRIMITIVES_DIR.glob("*.js")
                     for name in PRIMITIVE_DEFINITION.findall(path.read_text()))


class ParseError(ValueError):
    """The reply cannot be used; the message is sent back to the model as is."""


@dataclass
class ActionReply:
    explain: str
    plan: str
    code: str
    main: str  # name of the function that runs


def parse_action_reply(text: str) -> ActionReply:
    """Strictly parse an Explain/Plan/Code reply; raise :class:`ParseError` saying what to fix."""
    blocks = CODE_BLOCK.findall(text)
    js = [(lang, body) for lang, body in blocks if lang.lower() in ("javascript", "js", "")]
    if not js:
        raise ParseError("the reply has no ```javascript code block. Put the whole program in one "
                         "```javascript ... ``` block after 'Code:'.")
    if len(js) > 1:
        raise ParseError(f"the reply has {len(js)} code blocks; put all the code (helpers and the "
                         "main function) in ONE ```javascript block.")
    if not re.search(r"^\s*Plan\s*:", text, re.MULTILINE | re.IGNORECASE):
        raise ParseError("the reply has no 'Plan:' section. Answer with Explain:, Plan: and Code:.")
    if not re.search(r"^\s*Code\s*:", text, re.MULTILINE | re.IGNORECASE):
        raise ParseError("the reply has no 'Code:' section before the code block.")
    code = js[0][1].strip() + "\n"
    program = program_info(code)
    if program.error:
        raise ParseError(f"the code cannot run: {program.error}. Fix it and send the whole program again.")
    main = program.main
    if main is None:
        raise ParseError("the code defines no top-level `async function name(bot) { ... }`; the "
                         "last async function is the one that runs.")
    params = dict(program.functions)[main]
    if params != ("bot",):
        raise ParseError(f"the last async function `{main}` must take exactly one argument named "
                         f"`bot`, not ({', '.join(params)}).")
    if main in primitive_names():
        raise ParseError(f"the main function must not be named `{main}`: that is a primitive. "
                         "Give it a name that says what it does.")
    explain = _section(text, "Explain", ("Plan",))
    plan = _section(text, "Plan", ("Code",))
    return ActionReply(explain=explain, plan=plan, code=code, main=main)


def _section(text: str, name: str, until: tuple[str, ...]) -> str:
    stop = "|".join(until)
    m = re.search(rf"^\s*{name}[^:\n]*:(.*?)(?=^\s*(?:{stop})\s*:|\Z)", text,
                  re.DOTALL | re.MULTILINE | re.IGNORECASE)
    return m.group(1).strip() if m else ""


def primitive_docs() -> str:
    """The primitives' short docs for the prompt (shipped under primitives/docs/).

    Falls back to each primitive's leading comment block, which states its signature and behaviour.
    """
    docs_dir = PRIMITIVES_DIR / "docs"
    files = sorted(p for p in docs_dir.glob("*") if p.suffix in (".js", ".md", ".txt")) if docs_dir.is_dir() else []
    if files:
        return "\n\n".join(p.read_text().strip() for p in files)
    parts = []
    for path in sorted(PRIMITIVES_DIR.glob("*.js")):
        lines = path.read_text().splitlines()
        head = []
        for line in lines:
            if not line.startswith("//"):
                break
            head.append(line)
        signatures = [ln for ln in lines if re.match(r"^async function [a-zA-Z]+\(", ln) and not ln.startswith("async function _")]
        if head and signatures:
            parts.append("\n".join(head + [s.rstrip("{ ").rstrip() + " { ... }" for s in signatures]))
    return "\n\n".join(parts)


def render_observation(obs: dict[str, Any], omit: tuple[str, ...] = ()) -> list[str]:
    """The observation as the prompts show it, one ``Label: value`` line each (Voyager's lines).
    The one rendering for every agent; ``omit`` drops lines by label without its note in
    parentheses (the critic's prompt, like Voyager's, has no "Nearby entities")."""
    inv = obs.get("inventory") or {}
    entities = obs.get("entities") or {}
    near = sorted(entities.items(), key=lambda kv: kv[1])
    lines = {
        "Biome": f"{obs.get('biome') or 'unknown'}",
        "Time": f"{obs.get('time_of_day') or 'unknown'}",
        "Nearby blocks": f"{', '.join(obs.get('voxels') or []) or 'None'}",
        "Nearby entities (nearest to farthest)": f"{', '.join(n for n, _ in near) or 'None'}",
        "Health": f"{obs.get('health', 20)}/20",
        "Hunger": f"{obs.get('food', 20)}/20",
        "Position": _position(obs.get("position")),
        "Equipment": json.dumps(obs.get("equipment") or {}),
        f"Inventory ({obs.get('inventory_slots_used', len(inv))}/36)": json.dumps(inv) if inv else "Empty",
        "Chests": _chests(obs.get("chests")),
    }
    return [f"{label}: {value}" for label, value in lines.items() if label.split(" (")[0] not in omit]


def _position(p: Any) -> str:
    if isinstance(p, dict):
        return f"x={p.get('x', 0):.1f}, y={p.get('y', 0):.1f}, z={p.get('z', 0):.1f}"
    return str(p)


def _chests(chests: Any) -> str:
    if not chests:
        return "None"
    return "; ".join(f"({k}): {json.dumps(v) if isinstance(v, dict) else v}" for k, v in chests.items())


class ActionAgent:
    """Write a program for a task; the skills it may call come from the library by retrieval."""

    def __init__(self, llm: ChatLLM, library: SkillLibrary, k: int = 5, parse_retries: int = 2,
                 docs: str | None = None) -> None:
        self.llm = llm
        self.library = library
        self.k = k
        self.parse_retries = parse_retries
        self.docs = primitive_docs() if docs is None else docs
        self.template = Template((PROMPTS / "action.txt").read_text())

    def retrieve(self, task: str, context: str) -> list[Skill]:
        if len(self.library) == 0:
            return []
        query = f"{task}\n{context}".strip()
        return self.library.retrieve(query, k=self.k, kind="minecraft-program", world="minecraft")

    def system_message(self, skills: list[Skill]) -> str:
        programs = [self.docs] + [self.library.code(s.name).strip() for s in skills]
        return self.template.safe_substitute(programs="\n\n".join(p for p in programs if p))

    def user_message(self, task: str, context: str, obs: dict[str, Any], last: dict[str, Any] | None) -> str:
        last = last or {}
        chat = last.get("chat") or []
        lines = [
            f"Code from the last round:\n{last.get('code') or 'No code in the first round'}",
            f"Execution error:\n{last.get('error') or 'No error'}",
            f"Chat log: {' | '.join(chat)[-1500:] if chat else 'None'}",
            *render_observation(obs),
            f"Task: {task}",
            f"Context: {context or 'None'}",
            f"Critique: {last.get('critique') or 'None'}",
        ]
        return "\n".join(lines)

    def write(self, task: str, context: str, obs: dict[str, Any], skills: list[Skill],
              last: dict[str, Any] | None) -> tuple[ActionReply | None, str, int]:
        """(parsed reply or None, the last parse error, LLM calls made). Malformed replies are re-asked."""
        messages = [{"role": "system", "content": self.system_message(skills)},
                    {"role": "user", "content": self.user_message(task, context, obs, last)}]
        answer = ask(self.llm, "action", messages, parse_action_reply,
                     lambda problem: f"Your reply could not be used: {problem} {RETRY_FORMAT}",
                     self.parse_retries + 1)
        return answer.value, answer.problem, answer.calls
