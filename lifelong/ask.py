"""Ask, parse, re-ask: the one way an agent gets a reply it can use from a chat LLM.

Every agent that reads structure out of a reply (a task, a list of subgoals, a program, a
verdict) does the same thing: send the messages, parse the reply, and when the parser says what
is wrong, send the reply back with that message and the format wanted, up to a number of tries.
Models fix most malformed replies when told what was wrong (Voyager re-asks the same way); a
crash or a silent default would lose the round instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")
Messages = list[dict[str, str]]


class ChatLLM(Protocol):
    """What asking needs of :class:`lifelong.llm.LLM`: one chat call for a role."""

    def chat(self, role: str, messages: Messages) -> list[str]: ...


@dataclass(frozen=True)
class Answer(Generic[T]):
    """The parsed reply (None when every try failed), the last parser message, the calls made."""

    value: T | None
    problem: str
    calls: int

    @property
    def ok(self) -> bool:
        return not self.problem


def ask(llm: ChatLLM, role: str, messages: Messages, parse: Callable[[str], T],
        again: Callable[[str], str], tries: int) -> Answer[T]:
    """Send ``messages`` as ``role`` and ``parse`` the reply; a ValueError from ``parse`` is a
    malformed reply: it goes back with ``again(message)`` (what was wrong, the format wanted),
    up to ``tries`` replies in all. Never raises for a malformed reply: the caller decides."""
    problem = ""
    for calls in range(1, tries + 1):
        reply = llm.chat(role, messages)[0]
        try:
            return Answer(parse(reply), "", calls)
        except ValueError as exc:
            problem = str(exc) or type(exc).__name__
            messages = [*messages, {"role": "assistant", "content": reply},
                        {"role": "user", "content": again(problem)}]
    return Answer(None, problem, max(tries, 0))
