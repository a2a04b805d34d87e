"""Minecraft's own progress events (see :mod:`lifelong.events` for the loop's).

:class:`ProgramRun` is the ``step`` record that :class:`lifelong.minecraft.world.MinecraftWorld`
logs after every program (the display needs a few of its fields); the others report what
:func:`lifelong.minecraft.run.run_explore` does around the loop, and are not logged.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from lifelong.events import Event


class ProgramRun(Event, logged_as="step"):
    """A program ran on the bot and was judged (the fields the display shows of a ``step``)."""

    iteration: int
    task: str
    round: int
    success: bool
    inventory: dict[str, int] = field(default_factory=dict)
    new_items: list[str] = field(default_factory=list)
    milestones: dict[str, Any] = field(default_factory=dict)
    critique: str = ""
    error: str = ""


class BackendChosen(Event):
    """Which LLM answers: ``planner`` is the deterministic back end; ``implicit`` when the user
    configured no endpoint and the planner was chosen for them."""

    label: str
    planner: bool
    implicit: bool = False


class ServerStarting(Event):
    """The embedded server for ``world`` is being started (``reused``: one was running already)."""

    world: str
    reused: bool


class ViewerStarted(Event):
    url: str


class RunOpened(Event):
    """The run folder is ready; on a resumed run the display replays its log from here."""

    path: str
    resumed: bool
