"""Eureka's reward reflection: turn a training run into feedback text for the next reward.

For a candidate that trained, the feedback lists every reward component, the task score F and the
episode length sampled at 10 evenly spaced points over training, each with its max / mean / min,
then hints computed from those numbers (a component that never changes, a component that dominates
the others in scale, a task score that never left zero) and Eureka's tips for rewriting. A
candidate that failed gets the exact reason (sandbox rule, timeout, traceback) instead.

The next iteration's conversation is Eureka's: system, user, the best response of the last
iteration and its feedback. We add one thing Eureka lacks: the reasons the *other* candidates
of that iteration were rejected, so the model stops repeating a forbidden import or a NaN.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

PROMPTS = Path(__file__).with_name("prompts")
POINTS = 10
CONSTANT_REL = 1e-3   # a component whose range is below this fraction of its scale is "constant"
DOMINANT_RATIO = 10.0  # a component this many times larger than all others together dominates

Message = dict[str, str]


@cache
def prompt(name: str) -> str:
    """A prompt template from prompts/<name>.txt (text files, next to the agent that uses them)."""
    return (PROMPTS / f"{name}.txt").read_text()


@dataclass
class TrainingCurves:
    """What reflection needs from one training run (see ``ppo.TrainResult.history``)."""

    env_steps: int
    components: dict[str, list[float]]
    score: list[float]
    episode_length: list[float] = field(default_factory=list)
    score_name: str = "task_score"

    @classmethod
    def from_history(cls, history: list[dict[str, Any]], score_name: str = "task_score") -> TrainingCurves:
        names = sorted({k for h in history for k in h.get("components", {})})
        return cls(
            env_steps=int(history[-1]["env_steps"]) if history else 0,
            components={n: [float(h["components"].get(n, math.nan)) for h in history] for n in names},
            score=[float(h.get("success", math.nan)) for h in history],
            episode_length=[float(h.get("episode_length", math.nan)) for h in history],
            score_name=score_name,
        )


def sample(values: list[float], points: int = POINTS) -> list[float]:
    """``points`` values at evenly spaced positions from first to last (all if fewer)."""
    if len(values) <= points:
        return list(values)
    step = (len(values) - 1) / (points - 1)
    return [values[round(i * step)] for i in range(points)]


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _fmt(value: float) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.3g}"


def curve_line(name: str, values: list[float]) -> str:
    """``name: ['0.1', ...], Max: x, Mean: y, Min: z`` as Eureka prints it."""
    finite = _finite(values)
    if not finite:
        return f"{name}: no values recorded (no episode finished during training)"
    points = ", ".join(f"'{_fmt(v)}'" for v in sample(values))
    mean = sum(finite) / len(finite)
    return f"{name}: [{points}], Max: {_fmt(max(finite))}, Mean: {_fmt(mean)}, Min: {_fmt(min(finite))}"


def hints(curves: TrainingCurves) -> list[str]:
    """Observations that tell the writer what to change (Eureka's three rules, made explicit)."""
    notes: list[str] = []
    score = _finite(curves.score)
    if not score or max(score) <= 1e-6:
        notes.append(f"The task score ({curves.score_name}) stayed at or below zero during the whole "
                     "training run: rewrite the entire reward function.")
    scales: dict[str, float] = {}
    for name, values in curves.components.items():
        finite = _finite(values)
        if not finite:
            continue
        scale = max(abs(v) for v in finite)
        scales[name] = sum(abs(v) for v in finite) / len(finite)
        if max(finite) - min(finite) <= CONSTANT_REL * max(scale, 1e-8):
            notes.append(f"'{name}' barely changes during training (always about {_fmt(finite[0])}): "
                         "RL cannot optimise it as written. Rescale it, change its temperature, "
                         "rewrite it or drop it.")
    if len(scales) >= 2:
        for name, scale in scales.items():
            others = sum(s for n, s in scales.items() if n != name)
            if scale > DOMINANT_RATIO * max(others, 1e-12):
                notes.append(f"'{name}' dominates the reward in magnitude (mean |value| "
                             f"{_fmt(scale)} against {_fmt(others)} for all other components "
                             "together): re-scale it so the other components matter.")
    return notes


def policy_feedback(curves: TrainingCurves) -> str:
    """The full feedback for a candidate that trained: statistics, hints and rewriting tips."""
    lines = [curve_line(n, v) for n, v in curves.components.items()]
    lines.append(curve_line(curves.score_name + " (task score)", curves.score))
    if _finite(curves.episode_length):
        lines.append(curve_line("episode_length", curves.episode_length))
    text = prompt("policy_feedback").format(
        env_steps=curves.env_steps, points=min(POINTS, len(curves.score)), statistics="\n".join(lines)
    )
    notes = hints(curves)
    if notes:
        text += "\nObservations:\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    return text + "\n" + prompt("code_feedback")


def error_feedback(reason: str) -> str:
    """Feedback for a candidate that was rejected or crashed: the exact reason, then 'fix it'."""
    return prompt("execution_error").format(reason=reason)


def quote_line(code: str, reason: str) -> str:
    """``reason`` plus the offending source line when the reason names one (``line 3: ...``)."""
    match = re.match(r"line (\d+):", reason)
    lines = code.splitlines()
    if match and 0 < int(match.group(1)) <= len(lines):
        return f"{reason}\n    offending line: {lines[int(match.group(1)) - 1].strip()}"
    return reason


def failures_section(failures: list[tuple[str, str]]) -> str:
    """The 'other candidates failed because ...' block; ``failures`` are (code, reason) pairs."""
    if not failures:
        return ""
    items = "\n".join(f"{i}. {quote_line(code, reason)}" for i, (code, reason) in enumerate(failures, 1))
    return prompt("failed_candidates").format(failures=items)


def next_messages(system: str, user: str, best_reply: str, best_feedback: str,
                  other_failures: list[tuple[str, str]]) -> list[Message]:
    """Eureka's next-iteration conversation: system, user, best response, its feedback."""
    feedback = best_feedback
    extra = failures_section(other_failures)
    if extra:
        feedback = f"{feedback.rstrip()}\n\n{extra}"
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
        {"role": "assistant", "content": best_reply},
        {"role": "user", "content": feedback},
    ]
