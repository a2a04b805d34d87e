"""View models: the data one page (or one API answer) needs, built from the :class:`Site`.

Both the HTML pages and ``/api`` use these, so a page never shows what the API does not return.
"""

from __future__ import annotations

from typing import Any

from lifelong.library import Skill
from lifelong.web.render import call_graph, diff, highlight
from lifelong.web.site import NotFound, Site


def skill_detail(site: Site, name: str, version: int | None = None) -> dict[str, Any]:
    """One skill: the chosen version's record and code, every version, callers and callees."""
    skill = site.skill(name, version)
    versions = site.versions(name)
    return {
        "skill": skill,
        "record": site.record(skill),
        "code": site.code(skill),
        "versions": versions,
        "latest": versions[-1].version,
        "callers": site.catalog.callers(name),
        "callees": site.callees(skill),
        "needs": site.transitive_callees(skill),
        "run_id": site.skill_run(skill),
    }


def api_skill(site: Site, name: str, version: int | None = None) -> dict[str, Any]:
    d = skill_detail(site, name, version)
    return {
        "record": d["record"], "code": d["code"],
        "versions": [{"version": v.version, "created": v.created, "code_sha256": v.code_sha256,
                      "replaces": v.replaces, "description": v.description} for v in d["versions"]],
        "callers": d["callers"], "callees": d["callees"], "needs": d["needs"],
        "run": d["run_id"],
    }


def version_diffs(site: Site, versions: list[Skill]) -> list[dict[str, Any]]:
    """Newest first: each version with the highlighted diff to the one before it."""
    out = []
    previous: tuple[Skill, str] | None = None
    for v in versions:
        code = site.code(v)
        change = diff(previous[1], code, f"v{previous[0].version}", f"v{v.version}") if previous else None
        out.append({"skill": v, "diff": change, "first": previous is None})
        previous = (v, code)
    return out[::-1]


def skill_page(site: Site, name: str, version: int | None = None) -> dict[str, Any]:
    """Everything ``/skills/{name}`` shows: detail, highlighted code, diffs, graph, evidence."""
    d = skill_detail(site, name, version)
    skill: Skill = d["skill"]
    known = {c["name"] for c in d["callees"] if c["exists"]}
    d.update(
        code_html=highlight(d["code"], skill.code_file),
        history=version_diffs(site, d["versions"]),
        graph=call_graph(skill.name, d["callers"], skill.calls, known),
        evidence=evidence(site, skill, d["run_id"], d["code"], d["callers"]),
    )
    return d


def evidence(site: Site, skill: Skill, run_id: str | None, code: str, callers: list[str]) -> dict[str, Any]:
    """How the skill was verified, gathered from its record and (when present) its run."""
    ev = dict(skill.evidence)
    out: dict[str, Any] = {"raw": ev, "run_id": run_id}
    if skill.kind == "minecraft-program":
        out.update(inventory=inventory_change(ev.get("inventory_before"), ev.get("inventory_after")),
                   rounds=minecraft_rounds(site, run_id, ev))
    elif skill.kind == "reward-function":
        out.update(reward_evidence(site, skill, run_id, code, callers))
    elif skill.kind == "policy":
        out.update(scores=ev.get("scores"), artifacts=skill.artifacts)
    return out


def inventory_change(before: Any, after: Any) -> list[dict[str, Any]]:
    """Rows of item, count before, count after and the change (items in either inventory)."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    rows = []
    for item in sorted(set(before) | set(after)):
        b, a = before.get(item, 0), after.get(item, 0)
        rows.append({"item": item, "before": b, "after": a,
                     "delta": a - b if isinstance(a, int | float) and isinstance(b, int | float) else None})
    return rows


def minecraft_rounds(site: Site, run_id: str | None, ev: dict[str, Any]) -> list[dict[str, Any]]:
    """The rounds of the attempt that produced the skill: its task's rounds 0..round, ending at
    the recorded iteration (a task's rounds are consecutive iterations)."""
    if not run_id or not isinstance(ev.get("iteration"), int):
        return []
    try:
        rounds = site.run(run_id).get("rounds", [])
    except NotFound:
        return []
    last, first = ev["iteration"], ev["iteration"] - int(ev.get("round") or 0)
    return [r for r in rounds if first <= r["iteration"] <= last and r.get("task") == ev.get("task")]


def reward_evidence(site: Site, skill: Skill, run_id: str | None, code: str,
                    callers: list[str]) -> dict[str, Any]:
    """The training that found the reward (its curves) and the final scores table."""
    out: dict[str, Any] = {"candidate": None, "scores": None}
    if run_id:
        out["candidate"] = site.runs.find_candidate(run_id, code)
        out["scores"] = site.run(run_id).get("results")
    if out["scores"] is None:  # the run is not here: the policy trained on it carries the table
        for name in callers:
            policy = site.catalog.get(name)
            if policy and policy.kind == "policy" and policy.evidence.get("reward") == skill.name:
                out["scores"] = policy.evidence.get("scores")
                break
    return out


def minecraft_view(run: dict[str, Any]) -> dict[str, Any]:
    """Adds highlighted code to each round of a Minecraft run."""
    rounds = [{**r, "code_html": highlight(r["code"], "code.js") if r.get("code") else None}
              for r in run.get("rounds", [])]
    return {**run, "rounds": rounds}


def eureka_view(run: dict[str, Any]) -> dict[str, Any]:
    """Adds highlighted reward code to each candidate of a Eureka run."""
    rounds = []
    for r in run.get("rounds", []):
        cands = [{**c, "code_html": highlight(c["code"], "reward.py") if c.get("code") else None}
                 for c in r["candidates"]]
        rounds.append({**r, "candidates": cands})
    return {**run, "rounds": rounds}


def api_run(run: dict[str, Any]) -> dict[str, Any]:
    """A run as JSON (everything the page shows, minus rendering)."""
    return {k: v for k, v in run.items() if not k.startswith("_")}
