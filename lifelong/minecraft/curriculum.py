"""The automatic curriculum (Voyager's design) and static curricula from YAML.

Automatic: the LLM is asked for the next task with a prompt that rewards discovering new things.
What it sees grows with progress (the *warm-up*: biome after 10 completed tasks, health after 15,
...; each revealed field is then shown with probability 0.8, seeded). The first task is always
"Mine 1 wood log"; a nearly full inventory (>= 33 of 36 slots) gets a chest task. Context comes from
self-asked questions ("How to craft a furnace in Minecraft?") whose answers are cached in chroma
(explicit embeddings; a question within distance 0.05 of a cached one reuses its answer). Failed
tasks are remembered and retried *later* (after ``retry_after`` other tasks), not at once.

Static: ``curricula/minecraft/<name>.yaml`` lists the tasks in order; the same memory retries failed
ones later. Chosen with ``--curriculum NAME`` (or a path).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lifelong.ask import ChatLLM, ask
from lifelong.embeddings import Embedder
from lifelong.loop import Task
from lifelong.minecraft.action import render_observation
from lifelong.runs import atomic_write_json

PROMPTS = Path(__file__).parent / "prompts"
CURRICULA_DIR = Path(__file__).resolve().parents[2] / "curricula" / "minecraft"
FIRST_TASK = "Mine 1 wood log"
FIRST_CONTEXT = "You can mine one of oak, birch, spruce, jungle, acacia, dark oak, or mangrove logs."
CHEST_SLOTS = 33
# Voyager's warm-up: a field appears once this many tasks are complete (then with probability 0.8).
WARMUP: dict[str, int] = {
    "context": 15, "biome": 10, "time": 15, "nearby_blocks": 0, "other_blocks": 10,
    "nearby_entities": 5, "health": 15, "hunger": 15, "position": 0, "equipment": 0,
    "inventory": 0, "optional_inventory_items": 7, "chests": 0, "completed_tasks": 0, "failed_tasks": 0,
}
CORE_ITEMS = re.compile(r"^(.*_log|.*_planks|stick|crafting_table|furnace|cobblestone|dirt|coal|.*_pickaxe|.*_sword|.*_axe)$")
FORBIDDEN = re.compile(r"^\s*(place|build|dig|plant|trade|construct|make a shelter)\b", re.IGNORECASE)
QA_DISTANCE = 0.05


class CurriculumError(ValueError):
    """A curriculum file that cannot be used; the message says how to fix it."""


# ---- question -> answer cache --------------------------------------------------------------------


class QACache:
    """Question -> answer, kept in ``qa.json`` (the truth) and a chroma index for near-duplicates."""

    def __init__(self, root: Path, embedder: Embedder) -> None:
        self.root = Path(root)
        self.embedder = embedder
        self.path = self.root / "qa.json"
        self.answers: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}
        self._collection = None

    def _index(self):
        if self._collection is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            client = chromadb.PersistentClient(path=str(self.root / "index"),
                                               settings=ChromaSettings(anonymized_telemetry=False))
            self._collection = client.get_or_create_collection(
                "questions", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
            missing = [q for q in self.answers if not self._collection.get(ids=[q])["ids"]]
            if missing:  # the index is derived: rebuild what a crash lost
                self._upsert(missing)
        return self._collection

    def _upsert(self, questions: list[str]) -> None:
        vectors = self.embedder.encode(questions)
        self._collection.upsert(ids=questions, embeddings=vectors, documents=questions)

    def lookup(self, question: str) -> str | None:
        if question in self.answers:
            return self.answers[question]
        index = self._index()
        if index.count() == 0:
            return None
        self._last = (question, self.embedder.encode([question]))  # reused by add(): one encode per miss
        hit = index.query(query_embeddings=self._last[1], n_results=1, include=["distances"])
        if hit["ids"][0] and hit["distances"][0][0] < QA_DISTANCE:
            return self.answers.get(hit["ids"][0][0])
        return None

    def add(self, question: str, answer: str) -> None:
        self.answers[question] = answer
        atomic_write_json(self.path, self.answers)
        index = self._index()
        last = getattr(self, "_last", None)
        if last is not None and last[0] == question:
            index.upsert(ids=[question], embeddings=last[1], documents=[question])
        else:
            self._upsert([question])


# ---- memory shared by both kinds of curriculum ---------------------------------------------------


@dataclass
class Memory:
    """Completed and failed tasks; a failed task waits ``retry_after`` finished tasks before a retry."""

    completed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    failed_at: dict[str, int] = field(default_factory=dict)  # task -> tasks finished when it failed
    retries: dict[str, int] = field(default_factory=dict)
    finished: int = 0

    def record(self, task: str, success: bool) -> None:
        self.finished += 1
        if success:
            if task not in self.completed:
                self.completed.append(task)
            if task in self.failed:
                self.failed.remove(task)
            self.failed_at.pop(task, None)
        else:
            if task not in self.failed:
                self.failed.append(task)
            self.failed_at[task] = self.finished
            self.retries[task] = self.retries.get(task, 0) + 1

    def due_retry(self, retry_after: int, max_attempts: int) -> str | None:
        for task in self.failed:
            waited = self.finished - self.failed_at.get(task, self.finished)
            if waited >= retry_after and self.retries.get(task, 0) < max_attempts:
                return task
        return None


# ---- the automatic curriculum --------------------------------------------------------------------


class Curriculum:
    """Voyager's automatic curriculum over any chat LLM (the planner back end included)."""

    def __init__(self, llm: ChatLLM, qa: QACache | None = None, seed: int = 0, retry_after: int = 3,
                 max_attempts: int = 3, warmup: dict[str, int] | None = None, tries: int = 3) -> None:
        self.llm = llm
        self.qa = qa
        self.seed = seed
        self.retry_after = retry_after
        self.max_attempts = max_attempts
        self.warmup = {**WARMUP, **(warmup or {})}
        self.tries = tries
        self.memory = Memory()
        self.system = (PROMPTS / "curriculum.txt").read_text()
        self.questions_system = (PROMPTS / "curriculum_questions.txt").read_text()
        self.qa_system = (PROMPTS / "qa_answer.txt").read_text()

    @property
    def progress(self) -> int:
        return len(self.memory.completed)

    # -- proposing --

    def propose(self, obs: dict[str, Any]) -> Task:
        if self.progress == 0 and self.memory.retries.get(FIRST_TASK, 0) < self.max_attempts:
            return Task(FIRST_TASK, FIRST_CONTEXT, {"source": "first"})
        if (chest := self.chest_task(obs)) is not None:
            return chest
        if (retry := self.memory.due_retry(self.retry_after, self.max_attempts)) is not None:
            return Task(retry, self.context(retry), {"source": "retry"})
        task, reasoning = self.ask(obs)
        return Task(task, self.context(task), {"source": "curriculum", "reasoning": reasoning})

    def chest_task(self, obs: dict[str, Any]) -> Task | None:
        if obs.get("inventory_slots_used", 0) < CHEST_SLOTS:
            return None
        for where, content in (obs.get("chests") or {}).items():
            if isinstance(content, dict) and len(content) < 27:
                return Task(f"Deposit useless items into the chest at ({where})",
                            "Deposit items you don't need; keep at least 20 free slots.", {"source": "chest"})
        if (obs.get("inventory") or {}).get("chest"):
            return Task("Place a chest", "Place the chest near you, then deposit items into it.",
                        {"source": "chest"})
        return Task("Craft 1 chest", "Craft 1 chest with 8 planks of any kind of wood.", {"source": "chest"})

    def ask(self, obs: dict[str, Any]) -> tuple[str, str]:
        """Ask the LLM for the next task, reprompting when the answer is unusable."""
        messages = [{"role": "system", "content": self.system},
                    {"role": "user", "content": self.user_message(obs)}]
        answer = ask(self.llm, "curriculum", messages, parse_curriculum_reply,
                     lambda problem: f"{problem} Answer again in the format:\nReasoning: ...\nTask: ...", self.tries)
        if answer.value is None:
            raise CurriculumReplyError(f"the curriculum LLM gave no usable task after {self.tries} tries: "
                                       f"{answer.problem}")
        return answer.value

    def user_message(self, obs: dict[str, Any]) -> str:
        shown = self._revealed()
        obs = dict(obs)
        if not shown["optional_inventory_items"]:
            obs["inventory"] = {k: v for k, v in (obs.get("inventory") or {}).items() if CORE_ITEMS.match(k)}
        lines = render_observation(obs)
        keep = {"Biome": "biome", "Time": "time", "Nearby blocks": "nearby_blocks",
                "Nearby entities": "nearby_entities", "Health": "health",
                "Hunger": "hunger", "Position": "position", "Equipment": "equipment",
                "Inventory": "inventory", "Chests": "chests"}
        out = []
        if shown["context"] and self.qa is not None:
            out += self.questions_and_answers(obs)
        for line in lines:
            key = line.split(":", 1)[0].split(" (")[0]  # the label without its note: "Inventory (3/36)"
            if shown.get(keep.get(key, ""), True):
                out.append(line)
            if key == "Nearby blocks" and shown["other_blocks"]:
                seen = sorted(set(obs.get("blocks_seen") or []) - set(obs.get("voxels") or []))
                out.append(f"Other blocks that are recently seen: {', '.join(seen) or 'None'}")
        out.append(f"Completed tasks so far: {', '.join(self.memory.completed) or 'None'}")
        out.append(f"Failed tasks that are too hard: {', '.join(self.memory.failed) or 'None'}")
        return "\n".join(out)

    def _revealed(self) -> dict[str, bool]:
        rng = random.Random(f"{self.seed}:{self.progress}")
        out = {}
        for key, n in self.warmup.items():
            draw = rng.random()
            out[key] = self.progress >= n and (n == 0 or draw < 0.8)
        return out

    # -- questions and answers --

    def questions_and_answers(self, obs: dict[str, Any]) -> list[str]:
        """Voyager's self-asked questions about the situation, each answered (cached)."""
        base = render_observation(obs) + [
            f"Completed tasks so far: {', '.join(self.memory.completed) or 'None'}",
            f"Failed tasks that are too hard: {', '.join(self.memory.failed) or 'None'}"]
        reply = self.llm.chat("qa", [{"role": "system", "content": self.questions_system},
                                     {"role": "user", "content": "\n".join(base)}])[0]
        questions = re.findall(r"^Question \d+:\s*(.+)$", reply, re.MULTILINE)[:10]
        lines = []
        for i, q in enumerate(questions, 1):
            lines += [f"Question {i}: {q.strip()}", f"Answer: {self.answer(q.strip())}"]
        return lines

    def answer(self, question: str) -> str:
        if self.qa is not None and (cached := self.qa.lookup(question)) is not None:
            return cached
        reply = self.llm.chat("qa", [{"role": "system", "content": self.qa_system},
                                     {"role": "user", "content": f"Question: {question}"}])[0]
        answer = reply.split("Answer:", 1)[-1].strip() or "Unknown"
        if self.qa is not None:
            self.qa.add(question, answer)
        return answer

    def context(self, task: str) -> str:
        question = f"How to {task[0].lower() + task[1:]} in Minecraft?"
        answer = self.answer(question)
        return f"Question: {question}\nAnswer: {answer}" if answer != "Unknown" else ""

    # -- memory --

    def record(self, task: str, success: bool) -> None:
        self.memory.record(task, success)

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "auto", "memory": vars(self.memory).copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.memory = Memory(**state["memory"])


class CurriculumReplyError(RuntimeError):
    """The curriculum LLM kept answering without a usable task."""


def parse_curriculum_reply(text: str) -> tuple[str, str]:
    """(task, reasoning) from 'Reasoning: ... Task: ...'; ValueError says what is wrong."""
    m = re.search(r"^\s*Task\s*:\s*(.+?)\s*$", text, re.MULTILINE | re.IGNORECASE)
    if not m:
        raise ValueError("The reply has no 'Task:' line.")
    task = m.group(1).strip().strip("\"'`*").rstrip(".")
    if not task:
        raise ValueError("The 'Task:' line is empty.")
    if FORBIDDEN.match(task):
        raise ValueError(f"'{task}' is a placing/building/digging/trading task, which cannot be "
                         "checked; propose a Mine/Craft/Smelt/Kill/Cook/Equip task instead.")
    if len(task.split()) > 12 or " and " in task.lower():
        raise ValueError(f"'{task}' is not a single short task; propose exactly one.")
    reasoning = re.search(r"Reasoning\s*:\s*(.*?)(?=^\s*Task\s*:)", text, re.DOTALL | re.MULTILINE | re.IGNORECASE)
    return task, reasoning.group(1).strip() if reasoning else ""


# ---- static curricula ---------------------------------------------------------------------------


@dataclass
class StaticTask:
    task: str
    context: str = ""


def curriculum_path(name: str) -> Path:
    """A name under curricula/minecraft/ (with or without .yaml), or a path to a YAML file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    candidate = CURRICULA_DIR / f"{name.removesuffix('.yaml')}.yaml"
    if candidate.exists():
        return candidate
    known = ", ".join(sorted(p.stem for p in CURRICULA_DIR.glob("*.yaml"))) or "none"
    raise CurriculumError(f"no curriculum {name!r}: give a YAML path or one of: auto, random, {known}")


def load_static(path: Path) -> tuple[str, list[StaticTask]]:
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise CurriculumError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("tasks"), list) or not raw["tasks"]:
        raise CurriculumError(f"{path} must be a mapping with a non-empty 'tasks' list")
    tasks = []
    for i, entry in enumerate(raw["tasks"], 1):
        if isinstance(entry, str):
            entry = {"task": entry}
        if not isinstance(entry, dict) or not str(entry.get("task", "")).strip():
            raise CurriculumError(f"{path}: task {i} needs a 'task' text (e.g. 'Craft 1 furnace')")
        tasks.append(StaticTask(str(entry["task"]).strip(), str(entry.get("context", "")).strip()))
    return str(raw.get("name", path.stem)), tasks


class StaticCurriculum:
    """Tasks in the file's order; failed ones come back after ``retry_after`` others."""

    def __init__(self, path: Path, retry_after: int = 3, max_attempts: int = 3,
                 context: Callable[[str], str] | None = None) -> None:
        self.name, self.tasks = load_static(path)
        self.retry_after = retry_after
        self.max_attempts = max_attempts
        self.context_for = context
        self.memory = Memory()

    @property
    def progress(self) -> int:
        return len(self.memory.completed)

    def propose(self, obs: dict[str, Any]) -> Task | None:
        retry = self.memory.due_retry(self.retry_after, self.max_attempts)
        if retry is None:
            attempted = set(self.memory.completed) | set(self.memory.failed)
            fresh = next((t for t in self.tasks if t.task not in attempted), None)
            if fresh is not None:
                return self._task(fresh)
            # only failed tasks are left: retry the longest-waiting one now
            waiting = [t for t in self.memory.failed if self.memory.retries.get(t, 0) < self.max_attempts]
            retry = waiting[0] if waiting else None
        if retry is None:
            return None
        return self._task(next(t for t in self.tasks if t.task == retry), source="retry")

    def _task(self, t: StaticTask, source: str = "static") -> Task:
        context = t.context or (self.context_for(t.task) if self.context_for else "")
        return Task(t.task, context, {"source": source, "curriculum": self.name})

    def record(self, task: str, success: bool) -> None:
        self.memory.record(task, success)

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "static", "name": self.name, "memory": vars(self.memory).copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.memory = Memory(**state["memory"])


# ---- task decomposition (Voyager's zero-shot protocol) -------------------------------------------


class DecompositionError(RuntimeError):
    """The curriculum LLM kept answering the decomposition prompt without a usable list."""


def parse_subgoals(text: str) -> list[str]:
    """The JSON list of subgoals in a reply, repaired like Voyager's ``fix_and_parse_json``: code
    fences, prose around the list, single quotes and trailing commas are tolerated. ValueError says
    what is wrong (sent back to the model)."""
    text = re.sub(r"```(?:json|python)?", "", text)
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end < start:
        raise ValueError("The reply has no list of subgoals like [\"subgoal1\", \"subgoal2\"].")
    chunk = re.sub(r",\s*\]", "]", text[start:end + 1])
    value: Any = None
    for load in (json.loads, _literal):
        try:
            value = load(chunk)
            break
        except (ValueError, SyntaxError):
            continue
    if not isinstance(value, list):
        raise ValueError("The list of subgoals cannot be parsed as JSON.")  # noqa: TRY004 (sent to the model)
    subgoals = [" ".join(str(s).split()).rstrip(".") for s in value if isinstance(s, str) and s.strip()]
    if len(subgoals) != len(value):
        raise ValueError("Every subgoal must be a non-empty string.")
    if not subgoals:
        raise ValueError("The list of subgoals is empty.")
    return subgoals


def _literal(chunk: str) -> Any:
    import ast

    return ast.literal_eval(chunk)


def same_task(a: str, b: str) -> bool:
    """Whether two wordings ask for the same thing ('Craft a compass' == 'craft 1 compass')."""
    from lifelong.minecraft.critic import parse_count_task

    if a.strip().lower().rstrip(".") == b.strip().lower().rstrip("."):
        return True
    x, y = parse_count_task(a), parse_count_task(b)
    return bool(x and y and (x.verb, x.count, x.items) == (y.verb, y.count, y.items))


class SolveCurriculum:
    """Voyager's zero-shot protocol as a curriculum: decompose the final task into subgoals with
    Voyager's decomposition prompt (given the inventory and the library), propose them in order,
    and decompose again from where the bot stands after a subgoal fails (Voyager retries the same
    list; a fresh plan can take the failure into account, e.g. a lost tool). Proposes nothing more
    once the final task, always the plan's last subgoal, succeeds.

    ``skills`` returns {skill name: the task it was learned for} for the prompt, or None for a run
    without a library (the prompt says so); ``context`` answers "How to X?" (the QA cache).
    """

    def __init__(self, llm: ChatLLM, task: str, skills: Callable[[str], dict[str, str] | None] | None = None,
                 context: Callable[[str], str] | None = None, tries: int = 3) -> None:
        self.llm = llm
        self.task = task
        self.skills = skills or (lambda task: None)
        self.context_for = context
        self.tries = tries
        self.system = (PROMPTS / "curriculum_task_decomposition.txt").read_text()
        self.memory = Memory()
        self.plan: list[str] = []
        self.next = 0
        self.plans: list[list[str]] = []  # every decomposition, in order
        self.replan = True
        self.done = False

    @property
    def progress(self) -> int:
        return len(self.memory.completed)

    def propose(self, obs: dict[str, Any]) -> Task | None:
        if self.done:
            return None
        if self.replan or self.next >= len(self.plan):
            self.plan, self.next, self.replan = self.decompose(obs), 0, False
            self.plans.append(list(self.plan))
        subgoal = self.plan[self.next]
        context = self.context_for(subgoal) if self.context_for else ""
        return Task(subgoal, context, {"source": "decomposition", "final_task": self.task,
                                       "plan": len(self.plans), "index": self.next})

    def decompose(self, obs: dict[str, Any]) -> list[str]:
        """Ask the curriculum LLM for the subgoals; the last one is always the final task itself."""
        answer = ask(self.llm, "curriculum", self.messages(obs), parse_subgoals,
                     lambda problem: f"{problem} Answer again with only a JSON list of subgoals: "
                     '["subgoal1", "subgoal2", ...]', self.tries)
        if answer.value is None:
            raise DecompositionError(f"the curriculum LLM gave no usable list of subgoals after {self.tries} "
                                     f"tries: {answer.problem}")
        subgoals = answer.value
        if same_task(subgoals[-1], self.task):
            subgoals.pop()
        return subgoals + [self.task]

    def messages(self, obs: dict[str, Any]) -> list[dict[str, str]]:
        """Voyager's: the system prompt, the observation (with completed and failed tasks, and here
        the library), then 'Final task: ...' as a message of its own."""
        skills = self.skills(self.task)
        if skills is None:
            listed = "not used (this run has no skill library)"
        else:
            listed = "; ".join(f"{name} ({task})" for name, task in sorted(skills.items())) or "None"
        lines = render_observation(obs) + [
            f"Skills in the library: {listed}",
            f"Completed tasks so far: {', '.join(self.memory.completed) or 'None'}",
            f"Failed tasks that are too hard: {', '.join(self.memory.failed) or 'None'}",
        ]
        return [{"role": "system", "content": self.system},
                {"role": "user", "content": "\n".join(lines)},
                {"role": "user", "content": f"Final task: {self.task}"}]

    def record(self, task: str, success: bool) -> None:
        self.memory.record(task, success)
        if not success:
            self.replan = True
        elif self.next == len(self.plan) - 1:
            self.done = True
        else:
            self.next += 1

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "solve", "task": self.task, "memory": vars(self.memory).copy(), "plan": self.plan,
                "next": self.next, "plans": self.plans, "replan": self.replan, "done": self.done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.memory = Memory(**state["memory"])
        self.plan, self.next, self.plans = list(state["plan"]), int(state["next"]), list(state["plans"])
        self.replan, self.done = bool(state["replan"]), bool(state["done"])
