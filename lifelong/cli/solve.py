"""`lifelong solve "TASK" --library DIR`: solve one task in a new world with a learned skill library.

Voyager's zero-shot protocol (see :mod:`lifelong.minecraft.solve`): a fresh world (``--seed``), an
empty inventory, the task decomposed into subgoals by the curriculum, the loop run on them with
re-planning after a failure, until the task succeeds or ``--iterations`` rounds are spent.
``--no-library`` is the ablation. Resumes like ``explore`` (``--run-dir DIR --resume``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lifelong.cli.common import (
    ConfigOption,
    ModelOption,
    console,
    print_json,
    settings_with_llm,
    user_errors,
)
from lifelong.cli.explore import (
    DifficultyOption,
    LLMChoiceOption,
    ProgramTimeoutOption,
    planner_note,
    time_scale_option,
)
from lifelong.embeddings import EmbedderUnavailable
from lifelong.events import Event, RoundDone, TaskProposed
from lifelong.library import LibraryError
from lifelong.llm import LLMError
from lifelong.minecraft.curriculum import CurriculumError, DecompositionError
from lifelong.minecraft.events import BackendChosen
from lifelong.minecraft.limits import PROGRAM_TIMEOUT_S
from lifelong.minecraft.run import SolveConfig, run_solve
from lifelong.minecraft.solve import UnknownItem
from lifelong.runs import RunExists


@user_errors(LLMError, LibraryError, EmbedderUnavailable, CurriculumError, DecompositionError, UnknownItem,
             RunExists, FileNotFoundError, OSError)
def solve(
    task: Annotated[str | None, typer.Argument(help="the task, e.g. 'Craft 1 diamond pickaxe' (kept on --resume)")] = None,
    library: Annotated[Path | None, typer.Option("--library", help="skill library learned by explore "
                                                 "(default: settings.library_dir); it is copied, never changed")] = None,
    no_library: Annotated[bool, typer.Option("--no-library", help="ablation: no skills retrieved or stored")] = False,
    iterations: Annotated[int, typer.Option(help="prompting iterations (rounds) at most")] = 50,
    seed: Annotated[int | None, typer.Option(help="seed of the new world (default 0)")] = None,
    llm: LLMChoiceOption = None,
    model: ModelOption = None,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="run folder (default: runs/solve-<time>)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --run-dir")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object: success, iterations, subgoals, skills")] = False,
    rounds: Annotated[int, typer.Option(help="rounds per subgoal before it counts as failed (then re-plan)")] = 4,
    port: Annotated[int | None, typer.Option(help="port of the embedded server (default: a free one)")] = None,
    difficulty: DifficultyOption = "peaceful",
    program_timeout: ProgramTimeoutOption = PROGRAM_TIMEOUT_S,
    time_scale: Annotated[float | None, time_scale_option()] = None,
    config: ConfigOption = None,
) -> None:
    """Solve one task in a new world from an empty inventory: decompose it, then reuse the library's skills."""
    settings = settings_with_llm(config, model=model)
    options = SolveConfig(task=task, library=library, no_library=no_library, iterations=iterations, seed=seed,
                          llm=llm, run_dir=run_dir, resume=resume, rounds=rounds, port=port, difficulty=difficulty,
                          program_timeout=program_timeout, time_scale=time_scale)
    result = run_solve(options, settings, on_event=_quiet if json_out else _progress)
    if json_out:
        print_json(result)
    else:
        _print(result)


def _quiet(event: Event) -> None:
    """--json prints one object and nothing else (not even the planner's note)."""


def _progress(event: Event) -> None:
    match event:
        case BackendChosen():
            planner_note(event, explain=False)
        case RoundDone():
            console.print(f"[{event.task}] round {event.round}: {'success' if event.success else 'failed'} "
                          f"{(event.feedback or '')[:140]}", highlight=False)
        case TaskProposed(task=task):
            console.print(f"subgoal: {task}", highlight=False)


def _print(result: dict[str, Any]) -> None:
    status = "[green]solved[/]" if result["success"] else "[red]not solved[/]"
    console.print(f"{result['task']}: {status} in {result['iterations']} iterations "
                  f"({result['replans']} re-plans), run {result['run_dir']}")
    for s in result["subgoals"]:
        console.print(f"  {'[green]done[/]' if s['done'] else '-   '} {s['task']}", highlight=False)
    console.print(f"reused skills: {', '.join(result['reused_skills']) or 'none'}")
    console.print(f"new skills: {', '.join(result['new_skills']) or 'none'}"
                  + ("" if result["new_skills_stored"] else " (not stored: --no-library)"))
    if result["critic_note"]:
        console.print(f"[yellow]note[/]: {result['critic_note']}")
