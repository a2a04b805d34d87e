"""Read run folders for the web view: which runs exist, what kind, and what each round did.

A run is a folder directly under the runs root holding ``events.jsonl`` or ``checkpoint.json``
(``lifelong.runs``). Two kinds are told apart by what their worlds write:

* Minecraft (``lifelong explore``): ``step`` events, one per round, with the code, error,
  critique and inventory; :func:`lifelong.minecraft.metrics.compute` gives the report.
* Eureka (``lifelong train-robot``): ``candidates/r<round>_k<i>/`` (reply, reward code,
  ``result.json`` with the verdict and the reflection), ``prompts/``, ``final/`` and
  ``results.json`` (``lifelong.robotics.eureka``).

A fleet (``lifelong explore --workers N``) is a folder with ``fleet.json``, its explorers' runs
in ``worker-<i>/``; it is listed as one run of kind ``fleet`` (the explorers' aggregate report and
lifecycle), and each explorer as a Minecraft run with the id ``FLEET@worker-<i>``.

Run ids are folder names and are checked against a strict pattern and the actual listing before
any path is built from them, so no URL can name a file outside the runs root. Details are cached
per run until its event log or checkpoint changes.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from lifelong.llm import LEDGER_FILE
from lifelong.loop import Attempt, best_of
from lifelong.minecraft import metrics
from lifelong.runs import CHECKPOINT_FILE, EVENTS_FILE, read_events

RUN_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")
CANDIDATE_RE = re.compile(r"^r(\d{1,6})_k(\d{1,6})$")
# One line of a reflection, as lifelong.robotics.reflection.curve_line writes it:
#   name: ['0.1', '0.2', ...], Max: 0.2, Mean: 0.15, Min: 0.1
CURVE_LINE = re.compile(r"^(?P<name>[^\n:]+): \[(?P<points>[^\]\n]*)\], Max: ", re.MULTILINE)
SCORE_SUFFIX = " (task score)"
FLEET_FILE = "fleet.json"                 # lifelong.minecraft.fleet: a parent of explorer runs
WORKER_RE = re.compile(r"^worker-\d{1,4}$")
WORKER_SEP = "@"                          # FLEET@worker-<i>: an explorer of a fleet
FLEET_EVENTS = ("worker_started", "worker_restarted", "worker_failed", "worker_done")


class RunNotFound(LookupError):
    """No run of that id under the runs root."""


def parse_curves(feedback: str) -> dict[str, list[float]]:
    """Every curve in a reflection text: reward components, the task score F (named
    ``F: <metric>``) and the episode length, each sampled at the points the LLM was shown."""
    curves: dict[str, list[float]] = {}
    for match in CURVE_LINE.finditer(feedback or ""):
        name = match["name"].strip()
        if name.endswith(SCORE_SUFFIX):
            name = "F: " + name[: -len(SCORE_SUFFIX)]
        try:
            curves[name] = [float(p.strip().strip("'\"")) for p in match["points"].split(",") if p.strip()]
        except ValueError:
            continue
    return curves


def candidate_curves(folder: Path, feedback: str) -> dict[str, list[float]]:
    """A trained candidate's curves at every logged point (``curves.json``, written by Eureka's
    run since it keeps them), else the points its reflection showed the LLM (older runs)."""
    saved = _read_json(folder / "curves.json")
    if not isinstance(saved, dict) or not isinstance(saved.get("components"), dict):
        return parse_curves(feedback)
    curves = {str(k): list(v) for k, v in saved["components"].items()}
    curves[f"F: {saved.get('score_name', 'task_score')}"] = list(saved.get("score") or [])
    if saved.get("episode_length"):
        curves["episode_length"] = list(saved["episode_length"])
    return curves


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
        return st.st_mtime_ns, st.st_size
    except OSError:
        return 0, 0


def process_alive(pid: Any, since: float) -> bool:
    """Whether ``pid`` is running and started no later than ``since`` (when it logged the event):
    a pid the kernel has since reused for a newer process does not count."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    except OSError:
        return False
    state = _proc_stat(pid)
    if state is None:  # no /proc (not Linux): existence is all we can tell
        return True
    status, started = state
    return status != "Z" and started <= since + 1.0


def _proc_stat(pid: int) -> tuple[str, float] | None:
    """(state, start time as a unix time) of a process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # fields 3 and 22 of stat
    except (OSError, StopIteration, ValueError, IndexError):
        return None


class Runs:
    """The run folders under ``root``; every lookup goes through :meth:`path`."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._cache: dict[str, tuple[tuple, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    # ---- finding runs -------------------------------------------------------------------------

    def ids(self) -> list[str]:
        """Run ids, most recently active first."""
        if not self.root.is_dir():
            return []
        found = []
        for entry in os.scandir(self.root):
            if RUN_ID_RE.match(entry.name) and entry.is_dir() and self._is_run(Path(entry.path)):
                found.append((_stamp(Path(entry.path) / EVENTS_FILE)[0], entry.name))
                found += [(_stamp(w / EVENTS_FILE)[0], f"{entry.name}{WORKER_SEP}{w.name}")
                          for w in self._workers(Path(entry.path))]
        return [name for _, name in sorted(found, reverse=True)]

    def _workers(self, fleet: Path) -> list[Path]:
        """A fleet's explorer runs, in index order ([] for any other run)."""
        if not (fleet / FLEET_FILE).is_file():
            return []
        found = [Path(e.path) for e in os.scandir(fleet) if WORKER_RE.match(e.name) and e.is_dir()
                 and not e.is_symlink() and self._is_run(Path(e.path))]
        return sorted(found, key=lambda p: int(p.name.split("-")[1]))

    @staticmethod
    def _is_run(path: Path) -> bool:
        return (path / EVENTS_FILE).is_file() or (path / CHECKPOINT_FILE).is_file()

    def path(self, run_id: str) -> Path:
        """The folder of ``run_id``; :class:`RunNotFound` for anything that is not a run here."""
        parent, _, worker = (run_id or "").partition(WORKER_SEP)
        if not RUN_ID_RE.match(parent) or parent in (".", ".."):
            raise RunNotFound(run_id)
        path = self.root / parent
        if not path.is_dir() or path.is_symlink() or not self._is_run(path):
            raise RunNotFound(run_id)
        if not worker:
            return path
        found = next((w for w in self._workers(path) if w.name == worker), None)
        if found is None:
            raise RunNotFound(run_id)
        return found

    def find(self, recorded: str | None) -> str | None:
        """The id of the run a skill's evidence names (an absolute path, a path relative to where
        the run was started, or a run that has since moved under this root), if it is here."""
        if not recorded or not self.root.is_dir():
            return None
        given = Path(recorded)
        root = self.root.resolve()
        for candidate in (given if given.is_absolute() else Path.cwd() / given, self.root / given.name):
            try:
                rel = candidate.resolve().relative_to(root)
            except (ValueError, OSError):
                continue
            if len(rel.parts) in (1, 2):  # a run, or an explorer of a fleet
                run_id = WORKER_SEP.join(rel.parts)
                try:
                    self.path(run_id)
                    return run_id
                except RunNotFound:
                    continue
        return None

    # ---- reading runs -------------------------------------------------------------------------

    def kind(self, path: Path) -> str:
        if (path / FLEET_FILE).is_file():
            return "fleet"
        if (path / "candidates").is_dir() or (path / "results.json").is_file() or (path / "prompts").is_dir():
            return "eureka"
        if (path / "run.json").is_file():
            return "minecraft"
        for event in read_events(path / EVENTS_FILE):
            if event.get("event") in ("step", "reset"):
                return "minecraft"
            if event.get("event") in ("rewards_written", "candidate"):
                return "eureka"
        return "unknown"

    def detail(self, run_id: str) -> dict[str, Any]:
        """Everything the run page shows (cached until the run's files change)."""
        path = self.path(run_id)
        stamp = (_stamp(path / EVENTS_FILE), _stamp(path / CHECKPOINT_FILE), _stamp(path / "results.json"))
        with self._lock:
            cached = self._cache.get(run_id)
            if cached and cached[0] == stamp:
                return cached[1]
        kind = self.kind(path)
        readers = {"minecraft": self._minecraft, "eureka": self._eureka, "fleet": lambda p: self._fleet(run_id, p)}
        data = {"id": run_id, "kind": kind, **self._common(path), **readers.get(kind, lambda p: {})(path)}
        with self._lock:
            self._cache[run_id] = (stamp, data)
        return data

    def summaries(self) -> list[dict[str, Any]]:
        """One line per run for the runs list."""
        out = []
        for run_id in self.ids():
            try:
                d = self.detail(run_id)
            except RunNotFound:  # removed while listing
                continue
            out.append({k: d.get(k) for k in ("id", "kind", "title", "started", "updated",
                                              "iterations", "events", "live", "viewer")})
        return out

    def _common(self, path: Path) -> dict[str, Any]:
        events = list(read_events(path / EVENTS_FILE))
        viewer = next((e for e in reversed(events) if e.get("event") == "viewer"
                       and re.match(r"^https?://", str(e.get("url", "")))), None)
        live = bool(viewer and process_alive(viewer.get("pid"), float(viewer.get("t") or 0)))
        ledger = _read_json(path / LEDGER_FILE) or {}
        return {
            "started": events[0].get("t") if events else None,
            "updated": _stamp(path / EVENTS_FILE)[0] / 1e9 or None,
            "events": len(events),
            "viewer": viewer.get("url") if viewer else None,
            "live": live,
            "ledger": ledger,
            "checkpoint": (_read_json(path / CHECKPOINT_FILE) or {}).get("loop"),
        }

    def _minecraft(self, path: Path) -> dict[str, Any]:
        events = self._read_events(path)
        report = metrics.compute(path)
        rounds: dict[int, dict[str, Any]] = {}
        for e in events:
            if e.get("event") == "step":
                rounds[int(e["iteration"])] = {  # a round redone after --resume replaces the lost one
                    k: e.get(k) for k in ("iteration", "task", "round", "success", "code", "error",
                                          "critique", "method", "calls", "new_items", "inventory", "chat")
                }
        contexts = {e["task"]: e.get("context", "") for e in events if e.get("event") == "task_proposed"}
        stored = [{"name": e.get("name"), "version": e.get("version")} for e in events
                  if e.get("event") == "skill_stored"]
        meta = _read_json(path / "run.json") or {}
        title = (f"{report['iterations']} iterations, {report['unique_items_count']} items, "
                 f"{report['skills_learned']} skills")
        return {"title": title, "report": report, "rounds": [rounds[i] for i in sorted(rounds)],
                "contexts": contexts, "stored": stored, "meta": meta, "iterations": report["iterations"]}

    def _fleet(self, run_id: str, path: Path) -> dict[str, Any]:
        """The explorers' aggregate report (fleet rounds in time order), each explorer's line and
        the lifecycle: started, restarted, failed, done."""
        report = metrics.compute(path)
        workers = [{"id": f"{run_id}{WORKER_SEP}{w.name}", "name": w.name, **{
            k: report["workers"].get(w.name, {}).get(k) for k in ("iterations", "unique_items_count",
                                                                  "skills_learned")}}
                   for w in self._workers(path)]
        lifecycle = [e for e in self._read_events(path) if e.get("event") in FLEET_EVENTS]
        title = (f"{len(workers)} explorers: {report['iterations']} rounds, {report['unique_items_count']} "
                 f"items, {report['skills_learned']} skills")
        return {"title": title, "report": report, "workers": workers, "lifecycle": lifecycle,
                "meta": _read_json(path / FLEET_FILE) or {}, "iterations": report["iterations"]}

    @staticmethod
    def _read_events(path: Path) -> list[dict[str, Any]]:
        return list(read_events(path / EVENTS_FILE))

    def _eureka(self, path: Path) -> dict[str, Any]:
        checkpoint = _read_json(path / CHECKPOINT_FILE) or {}
        world = checkpoint.get("world") or {}
        events = self._read_events(path)
        task = world.get("task") or next((e.get("task") for e in events if e.get("event") == "task_proposed"), "")
        candidates = [c for c in (self._candidate(p) for p in self._candidate_dirs(path)) if c]
        rounds: dict[int, list[dict[str, Any]]] = {}
        for c in candidates:
            rounds.setdefault(c["round"], []).append(c)
        results = _read_json(path / "results.json")
        iterations = [self._iteration(r, cs) for r, cs in sorted(rounds.items())]
        score = (results or {}).get("human_normalized_score")
        title = f"{task}: " + (f"human-normalised score {score:.3f}" if isinstance(score, float)
                               else f"{len(candidates)} candidates in {len(rounds)} iterations")
        not_stored = next((e for e in events if e.get("event") in ("not_stored", "no_reward")), None)
        return {"title": title, "task": task, "iterations": len(rounds), "rounds": iterations,
                "results": results, "stored": world.get("stored") or [], "done": world.get("done", False),
                "not_stored": not_stored, "results_md": _read_text(path / "results.md")}

    @staticmethod
    def _candidate_dirs(path: Path) -> list[Path]:
        folder = path / "candidates"
        if not folder.is_dir():
            return []
        found = [(tuple(int(g) for g in m.groups()), p) for p in folder.iterdir()
                 if (m := CANDIDATE_RE.match(p.name)) and p.is_dir()]
        return [p for _, p in sorted(found)]

    def candidate_path(self, run_id: str, candidate: str) -> Path:
        """A candidate's folder, checked like a run id."""
        if not CANDIDATE_RE.match(candidate or ""):
            raise RunNotFound(f"{run_id}/{candidate}")
        path = self.path(run_id) / "candidates" / candidate
        if not path.is_dir():
            raise RunNotFound(f"{run_id}/{candidate}")
        return path

    def _candidate(self, folder: Path) -> dict[str, Any] | None:
        m = CANDIDATE_RE.match(folder.name)
        if not m:
            return None
        saved = _read_json(folder / "result.json")
        base = {"id": folder.name, "round": int(m[1]), "index": int(m[2])}
        if saved is None:  # written when the candidate's training ends: still running or cut short
            return {**base, "status": "pending", "success": False, "score": None, "feedback": "",
                    "code": _read_text(folder / "reward.py"), "reply": _read_text(folder / "reply.md"),
                    "curves": {}}
        evidence = saved.get("evidence") or {}
        result = saved.get("result") or {}
        feedback = saved.get("feedback") or ""
        trained = bool(saved.get("verified", saved.get("success")))  # "success" before Attempt.verified
        return {
            **base, "status": "trained" if trained else "rejected",
            "success": trained, "score": _finite(saved.get("score")),
            "rule": evidence.get("rule"), "reason": evidence.get("reason"),
            "code": evidence.get("code") or _read_text(folder / "reward.py"),
            "reply": saved.get("candidate") or "", "feedback": feedback,
            "eval_success_mean": _finite(evidence.get("eval_success_mean")),
            "max_success": _finite(evidence.get("max_success")),
            "env_steps": result.get("env_steps"), "wall_s": evidence.get("wall_s"),
            "curves": candidate_curves(folder, feedback) if trained else {},
        }

    @staticmethod
    def _iteration(rnd: int, candidates: list[dict[str, Any]]) -> dict[str, Any]:
        """One iteration: its candidates and the reflection on its best (the next prompt's),
        the best chosen by the loop's own rule."""
        done = [Attempt(candidate=c["id"], verified=c["success"], score=c["score"])
                for c in candidates if c["status"] != "pending"]
        best = best_of(done)
        best_id = best.candidate if best else None
        reflection = next((c["feedback"] for c in candidates if c["id"] == best_id), "")
        return {"round": rnd, "candidates": candidates, "best": best_id, "reflection": reflection}

    def find_candidate(self, run_id: str, code: str) -> str | None:
        """The candidate whose reward code is ``code`` (how a stored reward finds its training)."""
        want = code.strip()
        for c in self.detail(run_id).get("rounds", []):
            for cand in c["candidates"]:
                if cand["success"] and (cand.get("code") or "").strip() == want:
                    return cand["id"]
        return None


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def age(t: float | None) -> str:
    """'3 min ago' for a unix time (the runs list's freshness column)."""
    if not t:
        return "-"
    s = max(0.0, time.time() - t)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{int(s // size)} {unit} ago"
    return f"{int(s)} s ago"
