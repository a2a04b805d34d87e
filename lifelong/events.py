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
from typing import Any, ClassVar, Self, dataclass_transform

_BY_NAME: dict[str, type[Event]] = {}


@dataclass_transform(frozen_default=True)
class Event:
    """One thing that happened. Every subclass is a frozen dataclass; one declared with
    ``logged_as="<name>"`` is the run log's event of that name (its ``name``)."""

    name: ClassVar[str] = ""

    def __init_subclass__(cls, logged_as: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(frozen=True)(cls)
        if logged_as:
            cls.name = logged_as
            _BY_NAME[logged_as] = cls

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

class Resumed(Event, logged_as="resumed"):
    """A run continues from its checkpoint at ``iteration``."""

    iteration: int


class CurriculumExhausted(Event, logged_as="curriculum_exhausted"):
    """The world proposes no more tasks; the run ends early."""



class TaskProposed(Event, logged_as="task_proposed"):
    task: str
    context: str = ""


class RoundDone(Event, logged_as="round"):
    """One write -> verify round (one iteration). ``success``: its best attempt passed verification."""

    task: str
    round: int
    success: bool
    score: float | None = None
    feedback: str = ""


class TaskDone(Event, logged_as="task_done"):
    """A task is finished: ``success`` when an attempt passed verification; ``skill`` is what
    the library stored of it (None when nothing was stored)."""

    task: str
    success: bool
    skill: str | None
    iteration: int
    rounds: int


class LLMUsage(Event):
    """What the run has spent on the LLM so far (sent after each loop event that changed it)."""

    tokens: int
    cost_usd: float
