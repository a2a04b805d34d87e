"""The vocabulary of Voyager's ablations, curricula and world styles, and its validation.

Voyager's paper ablates its components one at a time: without the automatic curriculum (a random
one instead), without the skill library, without self-verification (the critic), and without
environment feedback (execution errors and chat in the next prompt). ``lifelong explore`` exposes
each as a flag; the benchmark runner (``lifelong bench``) imports the names from here so that the
two never disagree about what is valid. Every check raises :class:`AblationError`, whose message
lists the valid names.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lifelong.config import ConfigError
from lifelong.minecraft.curriculum import CURRICULA_DIR

NO_LIBRARY = "no-library"      # no skills retrieved into the prompt, none stored for later tasks
NO_CRITIC = "no-critic"        # no self-verification: a program that ran without error is a success
NO_FEEDBACK = "no-feedback"    # no execution errors, chat or critique in the next round's prompt
ABLATIONS: tuple[str, ...] = (NO_LIBRARY, NO_CRITIC, NO_FEEDBACK)

AUTO = "auto"                  # Voyager's automatic curriculum (asks the LLM for the next task)
RANDOM = "random"              # Voyager's "w/o automatic curriculum": random items of the recipe graph
SPECIAL_CURRICULA: tuple[str, ...] = (AUTO, RANDOM)

DEFAULT_WORLD = "grove"        # today's world: a grove and a stone outcrop next to spawn, every seed
NATURAL_WORLD = "natural"      # terrain as generated, no guarantee near spawn (for benchmarks)
WORLD_STYLES: tuple[str, ...] = (DEFAULT_WORLD, NATURAL_WORLD)


class AblationError(ConfigError):
    """An unknown ablation, curriculum or world style; the message lists the valid ones (a
    :class:`ConfigError`, so every CLI command reports it as a plain error)."""


def static_curricula() -> list[str]:
    """Names of the static curricula shipped under ``curricula/minecraft/``."""
    return sorted(p.stem for p in CURRICULA_DIR.glob("*.yaml"))


def check_ablations(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` in canonical order, duplicates dropped; an unknown one is an error."""
    names = list(names)
    unknown = [n for n in names if n not in ABLATIONS]
    if unknown:
        raise AblationError(f"unknown ablation {', '.join(map(repr, unknown))}: "
                            f"valid ones are {', '.join(ABLATIONS)}")
    return tuple(a for a in ABLATIONS if a in names)


def check_curriculum(name: str) -> str:
    """``name`` if it is 'auto', 'random', a static curriculum's name or a YAML file; else an error."""
    if name in SPECIAL_CURRICULA or name.removesuffix(".yaml") in static_curricula():
        return name
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        if path.is_file():
            return name
        raise AblationError(f"curriculum file {name} does not exist: give an existing YAML file or one of "
                            f"{', '.join(valid_curricula())}")
    raise AblationError(f"unknown curriculum {name!r}: valid ones are {', '.join(valid_curricula())}, "
                        "or the path of a YAML file")


def valid_curricula() -> list[str]:
    return [*SPECIAL_CURRICULA, *static_curricula()]


def check_world_style(name: str) -> str:
    if name not in WORLD_STYLES:
        raise AblationError(f"unknown world style {name!r}: valid ones are {', '.join(WORLD_STYLES)} "
                            f"({DEFAULT_WORLD} is the default: a grove and an outcrop near spawn)")
    return name


def validate(*, ablations: Iterable[str] = (), curriculum: str = AUTO,
             world_style: str = DEFAULT_WORLD) -> tuple[tuple[str, ...], str, str]:
    """All three checks at once, for callers that assemble an ``explore`` command (the bench runner)."""
    return check_ablations(ablations), check_curriculum(curriculum), check_world_style(world_style)
