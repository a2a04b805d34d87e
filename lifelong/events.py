"""Typed progress events: what a loop reports while it runs, and what the CLI renders.

Every loop (the generic :class:`lifelong.loop.Loop`, and the worlds inside it) reports through one
callback shape, :data:`EventSink`, with instances of the dataclasses below, so a display matches on
types instead of on strings. An event that belongs in the run's ``events.jsonl`` carries the record's
name in ``name``; its fields are the record's fields, and :meth:`Event.from_record` reads a logged
record back and :meth:`Event.parse` any record (a resumed run's display replays its log so).

The loop's own events are here; a world adds its own (``lifelong.minecraft.events``,
``lifelong.robotics.events``) by subclassing :class:`Event`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

_BY_NAME: dict[str, type[Event]] = {}


@dataclass(frozen=True)
class Event:
    """One thing that happened. ``name`` is the log's event name; "" for events not logged."""

    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            _BY_NAME[cls.name] = cls

    def fields(self) -> dict[str, Any]:
        """The fields as a log record holds them."""
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        """This event from a logged record (the record's other fields are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in names})

    @staticmethod
    def parse(record: dict[str, Any]) -> Event | None:
        """The typed event of any logged record; None for a record no event class names."""
        cls = _BY_NAME.get(str(record.get("event")))
        return cls.from_record(record) if cls is not None else None


EventSink = Callable[[Event], None]
"""Where a loop sends its events (a display, a list in a test, or :func:`ignore`)."""


def ignore(event: Event) -> None:
    """The sink of a run that nobody watches."""


# ---- the generic loop's events (lifelong.loop) -----------------------------------------------

@dataclass(frozen=True)
class Resumed(Event):
    """A run continues from its checkpoint at ``iteration``."""

    name: ClassVar[str] = "resumed"
    iteration: int


@dataclass(frozen=True)
class CurriculumExhausted(Event):
    """The world proposes no more tasks; the run ends early."""

    name: ClassVar[str] = "curriculum_exhausted"


@dataclass(frozen=True)
class TaskProposed(Event):
    name: ClassVar[str] = "task_proposed"
    task: str
    context: str = ""


@dataclass(frozen=True)
class RoundDone(Event):
    """One write -> verify round (one iteration). ``success``: its best attempt passed verification."""

    name: ClassVar[str] = "round"
    task: str
    round: int
    success: bool
    score: float | None = None
    feedback: str = ""


@dataclass(frozen=True)
class TaskDone(Event):
    """A task is finished: ``success`` when an attempt passed verification; ``skill`` is what
    the library stored of it (None when nothing was stored)."""

    name: ClassVar[str] = "task_done"
    task: str
    success: bool
    skill: str | None
    iteration: int
    rounds: int


@dataclass(frozen=True)
class LLMUsage(Event):
    """What the run has spent on the LLM so far (sent after each loop event that changed it)."""

    tokens: int
    cost_usd: float
