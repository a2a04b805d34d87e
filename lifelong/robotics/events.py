"""Eureka's own progress events (see :mod:`lifelong.events` for the loop's).

They report the work inside one iteration, which the loop does not see: the K rewards asked of
the LLM, the sandbox's rejections, the trainings, and the final evaluation. The run's log keeps
its own records of these (``rewards_written``, ``candidate``), so these events are not logged.
"""

from __future__ import annotations

from lifelong.events import Event


class RewardsRequested(Event):
    """Iteration ``round`` asks the LLM for ``samples`` reward functions."""

    round: int
    samples: int


class CandidateRejected(Event):
    """The sandbox refused candidate ``index`` before training."""

    round: int
    index: int
    reason: str


class TrainingStarted(Event):
    """``jobs`` candidates train in parallel; ``rejected`` were refused by the sandbox."""

    round: int
    jobs: int
    rejected: int


class CandidateTrained(Event):
    """Candidate ``index``'s training ended: ``ok`` when it trained a policy, else ``reason``."""

    round: int
    index: int
    ok: bool
    reason: str = ""


class FinalEvaluationStarted(Event):
    """The best reward, the human one and the sparse one each train on ``seeds`` seeds."""

    methods: int
    seeds: int


class FinalRunDone(Event):
    method: str
    seed: int
    ok: bool
