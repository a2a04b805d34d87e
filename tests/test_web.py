"""`lifelong serve` over real HTTP (uvicorn on a loopback port): every page, download and API route,
on a library and runs that the real loops produced (see tests/web_support.py), plus the bad
inputs: HTML in descriptions, path traversal, unsafe uploads, unknown names, foreign Host headers.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner
from web_support import HOSTILE_DESCRIPTION, serving, web_data

from lifelong.cli import app as cli
from lifelong.library import SkillLibrary
from lifelong.library_io import import_library
from lifelong.robotics.reflection import TrainingCurves, policy_feedback
from lifelong.runs import RunDir
from lifelong.web import ServeConfig, create_app
from lifelong.web.catalog import Catalog
from lifelong.web.runview import candidate_curves, parse_curves


@pytest.fixture(scope="module")
def data(tmp_path_factory, embedder):
    """(library folder, runs root), built once for this module (~25 s: the Eureka run trains).

    Its Minecraft run goes through the loop, whose programs the runner's parser reads (Node):
    the tests that use it, or ``site``, are marked ``node``."""
    return web_data(tmp_path_factory.mktemp("web"), embedder)


@pytest.fixture(scope="module")
def site(data, embedder):
    """A read-only server on the shared data; yields an httpx client bound to it."""
    library_dir, runs = data
    config = ServeConfig(library=library_dir, runs=runs)
    with serving(create_app(config, SkillLibrary(library_dir, embedder=embedder))) as url, \
            httpx.Client(base_url=url, timeout=60) as client:
        yield client


def raw_get(client: httpx.Client, path: str) -> int:
    """GET ``path`` exactly as written (httpx would normalise '..' segments away)."""
    url = urlsplit(str(client.base_url))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


# ---- the skill list, search and the skill pages ------------------------------------------------

@pytest.mark.node  # the data fixture
def test_list_filters_by_world_and_kind_and_sorts_by_time_and_usage(site):
    page = site.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for name in ("mineWoodLog", "craftPlanks", "craftCraftingTable", "reward-PendulumWeb", "policy-PendulumWeb"):
        assert f'href="/skills/{name}"' in page.text
    def rows(**filters: str) -> list[str]:
        text = site.get("/", params=filters).text
        return [part.split('"', 1)[0] for part in text.split('class="skill-link" href="/skills/')[1:]]

    assert rows(world="robotics") == ["policy-PendulumWeb", "reward-PendulumWeb"]
    assert rows(kind="policy") == ["policy-PendulumWeb"]
    assert rows(world="minecraft", kind="minecraft-program", sort="name") == [
        "craftCraftingTable", "craftPlanks", "mineWoodLog"]

    def order(sort: str) -> list[str]:
        return [s["name"] for s in site.get("/api/skills", params={"sort": sort}).json()["skills"]]

    assert order("used")[0] == "craftPlanks"  # the only skill a later program called (and it worked)
    recent = order("recent")
    assert recent.index("mineWoodLog") < recent.index("craftPlanks")  # relearned (v2) after it
    assert order("oldest") == recent[::-1]
    assert site.get("/", params={"sort": "bogus"}).status_code == 400


@pytest.mark.node  # the data fixture
def test_api_skills_pages_through_the_library(site):
    first = site.get("/api/skills", params={"per": 2, "sort": "name"}).json()
    assert first["total"] == 5 and first["pages"] == 3 and len(first["skills"]) == 2
    names = [s["name"] for s in first["skills"]]
    while first["next"]:
        first = site.get(first["next"]).json()
        names += [s["name"] for s in first["skills"]]
    assert names == sorted(names, key=str.lower) and len(set(names)) == 5
    record = site.get("/api/skills", params={"kind": "minecraft-program"}).json()["skills"][0]
    assert {"name", "kind", "description", "task", "version", "calls", "evidence", "usage"} <= set(record)


@pytest.mark.node  # the data fixture
def test_search_uses_the_library_retrieval(site):
    hits = site.get("/api/search", params={"q": "make planks out of logs", "top": 3}).json()
    assert len(hits) == 3 and hits[0]["name"] == "craftPlanks"
    assert [h["distance"] for h in hits] == sorted(h["distance"] for h in hits)
    robots = site.get("/api/search", params={"q": "balance a pole", "top": 5, "world": "robotics"}).json()
    assert {h["name"] for h in robots} == {"reward-PendulumWeb", "policy-PendulumWeb"}
    page = site.get("/", params={"q": "make planks out of logs"})
    assert page.status_code == 200 and "distance" in page.text and 'href="/skills/craftPlanks"' in page.text
    missing = site.get("/api/search")
    assert missing.status_code == 422
    assert site.get("/api/search", params={"q": "x", "top": 0}).status_code == 422


@pytest.mark.node  # the data fixture
def test_skill_page_shows_code_versions_diff_calls_and_evidence(site):
    page = site.get("/skills/craftPlanks").text
    assert 'class="code"' in page and "mineWoodLog" in page  # highlighted code
    assert "Mines a log, then crafts it into four oak planks." in page and "Craft 4 planks" in page
    assert 'href="/skills/mineWoodLog"' in page and 'href="/skills/craftCraftingTable"' in page  # callee, caller
    assert '<svg class="graph"' in page
    # the verification: the critic, the inventory before and after, and both rounds of the attempt
    assert "inventory (decided from the inventory difference)" in page
    assert "oak_planks" in page and "+4" in page
    assert "no oak_log in the inventory" in page and "The program failed with an error" in page
    assert "iteration 2, round 0: failed" in page and "iteration 3, round 1: success" in page
    relearned = site.get("/skills/mineWoodLog").text
    assert "v2" in relearned and "--- v1" in relearned and "+++ v2" in relearned
    assert "relearned: three logs" in relearned
    old = site.get("/skills/mineWoodLog", params={"version": 1}).text
    assert "latest is" in old and "relearned" not in old.split('id="versions"')[0]  # v1's code
    assert site.get("/skills/mineWoodLog", params={"version": 9}).status_code == 404


@pytest.mark.node  # the data fixture
def test_api_skill_has_record_code_versions_callers_and_callees(site):
    body = site.get("/api/skills/craftPlanks").json()
    assert body["record"]["name"] == "craftPlanks" and "craftItem(bot, \"oak_planks\", 1)" in body["code"]
    assert body["callers"] == ["craftCraftingTable"]
    assert body["callees"] == [{"name": "mineWoodLog", "exists": True}] and body["run"] == "run"
    versions = site.get("/api/skills/mineWoodLog").json()["versions"]
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["replaces"] == 1
    assert site.get("/api/skills/mineWoodLog", params={"version": 1}).json()["code"].count("2);") == 1
    needs = site.get("/api/skills/craftCraftingTable").json()["needs"]
    assert needs == ["craftPlanks", "mineWoodLog"]


@pytest.mark.node  # the data fixture
def test_reward_page_has_curves_and_scores_and_policy_page_a_checkpoint(site, data):
    reward = site.get("/skills/reward-PendulumWeb").text
    assert "/curves.svg" in reward and "human-normalised" in reward
    for method in ("eureka", "human", "sparse"):
        assert f"<td>{method}</td>" in reward
    src = reward[reward.index("/runs/eureka-run/candidates/"):].split('"', 1)[0]
    svg = site.get(src)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    for curve in ("upright", "centre", "F: upright_steps", "episode_length"):
        assert curve in svg.text
    policy = site.get("/skills/policy-PendulumWeb").text
    assert 'href="/skills/policy-PendulumWeb/artifacts/1/policy.pt"' in policy
    download = site.get("/skills/policy-PendulumWeb/artifacts/1/policy.pt")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    library = SkillLibrary(data[0])
    stored = library.artifact_dir(library.get("policy-PendulumWeb")) / "policy.pt"
    assert download.content == stored.read_bytes()
    assert site.get("/skills/policy-PendulumWeb/artifacts/1/other.pt").status_code == 404


def test_curves_are_read_back_from_the_reflection_the_llm_saw():
    history = [{"env_steps": 512 * (i + 1), "success": float(i), "episode_length": 10.0 + i,
                "components": {"upright": 0.5 + i / 10, "centre": -0.01 * i}} for i in range(12)]
    text = policy_feedback(TrainingCurves.from_history(history, "upright_steps"))
    curves = parse_curves(text)
    assert list(curves) == ["centre", "upright", "F: upright_steps", "episode_length"]
    assert len(curves["upright"]) == 10 and curves["F: upright_steps"][0] == 0.0
    assert curves["F: upright_steps"][-1] == 11.0
    assert parse_curves("no curves here") == {}


# ---- runs -------------------------------------------------------------------------------------

@pytest.mark.node  # the data fixture
def test_runs_list_and_minecraft_run(site):
    runs = site.get("/runs").text
    assert 'href="/runs/run"' in runs and 'href="/runs/eureka-run"' in runs
    assert "5 iterations, 3 items, 3 skills" in runs
    page = site.get("/runs/run").text
    assert "Mine 1 wood log" in page and "Craft 1 crafting table" in page
    assert "mineBlock" in page and 'class="code"' in page  # each round's code
    assert "no oak_log in the inventory" in page and "The program failed with an error" in page
    assert "wooden tool" in page and "not reached" in page  # milestones
    assert "tokens" in page and "curriculum" in page  # tokens and cost per role
    chart = site.get("/runs/run/items.svg")
    assert chart.status_code == 200 and b"<svg" in chart.content and "unique items" in chart.text
    assert site.get("/runs/eureka-run/items.svg").status_code == 404


@pytest.mark.node  # the data fixture
def test_eureka_run_shows_candidates_reflections_and_results(site):
    page = site.get("/runs/eureka-run").text
    assert "import of &#39;os&#39; is not allowed" in page  # the rejection reason, escaped
    assert "has no ```python code block" in page
    assert "We trained a PPO policy with the reward function code above" in page  # the reflection
    assert "Final results" in page and "<td>sparse</td>" in page
    assert "/runs/eureka-run/candidates/r0_k1/curves.svg" in page
    assert site.get("/runs/eureka-run/candidates/r0_k0/curves.svg").status_code == 404  # rejected
    assert site.get("/runs/eureka-run/candidates/r9_k9/curves.svg").status_code == 404


@pytest.mark.node  # the data fixture
def test_candidate_curves_hold_every_logged_point(data):
    """Eureka keeps a trained candidate's whole training curves; the page plots those, not the
    10 points the reflection showed the LLM."""
    _, runs = data
    folder = runs / "eureka-run" / "candidates" / "r0_k1"
    saved = json.loads((folder / "curves.json").read_text())
    curves = candidate_curves(folder, feedback="")
    assert set(saved["components"]) < set(curves) and f"F: {saved['score_name']}" in curves
    assert all(len(values) == len(saved["score"]) > 1 for values in curves.values())


@pytest.mark.node  # the data fixture
def test_api_runs(site):
    runs = {r["id"]: r for r in site.get("/api/runs").json()}
    assert runs["run"]["kind"] == "minecraft" and runs["eureka-run"]["kind"] == "eureka"
    assert runs["run"]["live"] is False
    mc = site.get("/api/runs/run").json()
    assert mc["report"]["unique_items"] == ["oak_log", "oak_planks", "crafting_table"]
    assert [r["iteration"] for r in mc["rounds"]] == [1, 2, 3, 4, 5]
    assert all(r["code"] for r in mc["rounds"]) and mc["rounds"][1]["error"]
    eureka = site.get("/api/runs/eureka-run").json()
    first = eureka["rounds"][0]
    assert [c["status"] for c in first["candidates"]] == ["rejected", "trained"]
    assert first["candidates"][0]["rule"] == "import" and first["best"] == "r0_k1"
    assert set(first["candidates"][1]["curves"]) == {"upright", "centre", "F: upright_steps", "episode_length"}
    assert eureka["results"]["methods"]["eureka"]["seeds"] == [1000]  # evaluation seeds: apart from selection's
    assert eureka["stored"] == ["reward-PendulumWeb", "policy-PendulumWeb"]


def test_a_running_exploration_links_its_live_viewer(tmp_path, embedder):
    library = SkillLibrary(tmp_path / "library", embedder=embedder)
    live, ended = RunDir(tmp_path / "runs" / "live"), RunDir(tmp_path / "runs" / "ended")
    live.log("viewer", url="http://localhost:3007", pid=os.getpid())  # what explore --viewer logs
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    ended.log("viewer", url="http://localhost:3008", pid=int(done.stdout))
    config = ServeConfig(library=library.root, runs=tmp_path / "runs")
    with serving(create_app(config, library, warm=False)) as url, httpx.Client(base_url=url) as client:
        assert 'href="http://localhost:3007"' in client.get("/runs").text
        assert "watch the bot live" in client.get("/runs/live").text
        ended_page = client.get("/runs/ended").text
        assert "has ended" in ended_page and 'href="http://localhost:3008"' not in ended_page
        assert {r["id"]: r["live"] for r in client.get("/api/runs").json()} == {"live": True, "ended": False}


# ---- exports ----------------------------------------------------------------------------------

@pytest.mark.node  # the data fixture
def test_exports_download_in_every_format(site, tmp_path, embedder):
    archive = site.get("/export/zip")
    assert archive.status_code == 200 and "attachment" in archive.headers["content-disposition"]
    (tmp_path / "skills.zip").write_bytes(archive.content)
    fresh = SkillLibrary(tmp_path / "fresh", embedder=embedder)
    stored = import_library(fresh, tmp_path / "skills.zip")
    assert fresh.names() == ["craftCraftingTable", "craftPlanks", "mineWoodLog", "policy-PendulumWeb",
                             "reward-PendulumWeb"] and len(stored) == 6  # mineWoodLog has 2 versions
    with tarfile.open(fileobj=io.BytesIO(site.get("/export/dir").content)) as folder:
        assert "library/manifest.json" in folder.getnames()
    with tarfile.open(fileobj=io.BytesIO(site.get("/export/agent-skills").content)) as agent:
        assert "library/craftPlanks/SKILL.md" in agent.getnames()
    assert site.get("/export/tar").status_code == 404


# ---- writes: read-only by default, import and delete with --allow-write ----------------------

@pytest.mark.node  # the data fixture
def test_read_only_server_refuses_import_and_delete(site):
    assert "read-only" in site.get("/import").text
    upload = site.post("/import", files={"archive": ("x.zip", b"PK")}, data={"token": "x"})
    assert upload.status_code == 403 and "--allow-write" in upload.text
    delete = site.post("/skills/craftCraftingTable/delete", data={"token": "x"})
    assert delete.status_code == 403 and site.get("/skills/craftCraftingTable").status_code == 200


def zip_bytes(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return out.getvalue()


@pytest.mark.node  # the data fixture
def test_writable_server_imports_under_the_cli_rules_and_deletes(site, tmp_path, embedder):
    export = site.get("/export/zip").content
    library_dir = tmp_path / "new-library"
    config = ServeConfig(library=library_dir, runs=tmp_path, allow_write=True, max_upload_mb=1)
    with serving(create_app(config, SkillLibrary(library_dir, embedder=embedder))) as url, \
            httpx.Client(base_url=url, timeout=60) as client:
        form = client.get("/import").text
        token = form.split('name="token" value="', 1)[1].split('"', 1)[0]

        def upload(content: bytes, name: str = "skills.zip", tok: str = token) -> httpx.Response:
            return client.post("/import", files={"archive": (name, content)}, data={"token": tok})

        assert upload(export, tok="forged").status_code == 403  # a cross-site form has no token
        slip = upload(zip_bytes({"manifest.json": "{}", "../evil.txt": "x"}), "slip.zip")
        assert slip.status_code == 400 and "zip-slip" in slip.text and "nothing was imported" in slip.text
        assert "slip.zip" in slip.text and "upload.zip" not in slip.text
        bad = upload(zip_bytes({"manifest.json": '{"format": "lifelong-skill-library"}'}))
        assert bad.status_code == 400 and "malformed manifest.json" in bad.text
        assert upload(b"not a zip", "x.zip").status_code == 400
        assert upload(os.urandom(1200 * 1024)).status_code == 413
        assert not (library_dir / "skills").exists() or not any((library_dir / "skills").iterdir())

        done = upload(export)
        assert done.status_code == 200 and "Imported 6 skills" in done.text
        assert 'href="/skills/craftPlanks"' in client.get("/").text
        assert client.get("/api/search", params={"q": "crafting table"}).json()[0]["name"] == "craftCraftingTable"

        refused = client.post("/skills/mineWoodLog/delete", data={"token": token})
        assert refused.status_code == 409 and "craftPlanks" in refused.text
        gone = client.post("/skills/craftCraftingTable/delete", data={"token": token})
        assert gone.status_code == 200
        assert client.get("/skills/craftCraftingTable").status_code == 404
        hits = client.get("/api/search", params={"q": "crafting table", "top": 5}).json()
        assert "craftCraftingTable" not in [h["name"] for h in hits]
        assert client.post("/skills/ghost/delete", data={"token": token}).status_code == 404


def test_catalog_sees_skills_added_and_used_by_another_writer(tmp_path, embedder):
    library = SkillLibrary(tmp_path / "lib", embedder=embedder)
    catalog = Catalog(SkillLibrary(tmp_path / "lib", embedder=embedder), ttl_s=0.0, background=False)
    assert len(catalog) == 0
    library.add("dig", "async function dig(bot) {}", kind="minecraft-program", description="Digs a hole.")
    assert catalog.get("dig").usage.used == 0
    time.sleep(0.01)
    library.record_use("dig", True)
    assert catalog.get("dig").usage.used == 1
    library.add("dig", "async function dig(bot) { /* deeper */ }", kind="minecraft-program", description="Digs a deeper hole.")
    assert catalog.get("dig").version == 2
    library.add("fill", "async function fill(bot) { await dig(bot); }", kind="minecraft-program", description="Fills.", calls=["dig"])
    assert catalog.callers("dig") == ["fill"]
    assert [s.name for s in catalog.page(sort="name", per=1, page=2).skills] == ["fill"]

    served = Catalog(SkillLibrary(tmp_path / "lib", embedder=embedder), ttl_s=0.2)  # as the app uses it
    assert len(served) == 2  # the first load waits
    library.add("plant", "async function plant(bot) {}", kind="minecraft-program", description="Plants a sapling.")
    deadline = time.monotonic() + 5  # later rechecks run in the background: the answer comes soon
    while served.get("plant") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.get("plant") is not None


# ---- bad input --------------------------------------------------------------------------------

@pytest.mark.node  # the data fixture
def test_html_and_script_in_descriptions_are_text(site):
    for path in ("/", "/skills/mineWoodLog", "/?q=collect+logs"):
        page = site.get(path).text
        assert "<script>window.pwned" not in page and "<b>bold</b>" not in page
    listing = site.get("/", params={"sort": "oldest"}).text  # v1's description shows in the history
    history = site.get("/skills/mineWoodLog").text
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in history
    assert "<script" not in listing
    csp = site.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert site.get("/api/skills/mineWoodLog", params={"version": 1}).json()["record"]["description"] == HOSTILE_DESCRIPTION


TRAVERSALS = [
    "/skills/..%2F..%2Fetc%2Fpasswd", "/skills/..", "/skills/%2e%2e", "/skills/../../etc/passwd",
    "/skills/policy-PendulumWeb/artifacts/1/..%2Fskill.json",
    "/skills/policy-PendulumWeb/artifacts/1/../skill.json",
    "/skills/policy-PendulumWeb/artifacts/1/%2e%2e/%2e%2e/%2e%2e/index/embedder.json",
    "/skills/policy-PendulumWeb/artifacts/1/%2Fetc%2Fpasswd",
    "/runs/..", "/runs/%2e%2e", "/runs/..%2Flibrary", "/runs/run/..%2F..%2Fetc",
    "/runs/eureka-run/candidates/..%2F..%2Fevents.jsonl/curves.svg",
    "/runs/eureka-run/candidates/%2e%2e/curves.svg",
    "/static/..%2Fapp.py", "/static/../app.py", "/static/%2e%2e/site.py",
    "/api/skills/..%2F..%2Fetc%2Fpasswd", "/api/runs/..", "/api/runs/%2e%2e%2flibrary",
    "/export/..%2F..%2Fetc",
]


@pytest.mark.node  # the data fixture
def test_path_traversal_is_a_404(site):
    statuses = {path: raw_get(site, path) for path in TRAVERSALS}
    assert statuses == dict.fromkeys(TRAVERSALS, 404)


@pytest.mark.node  # the data fixture
def test_unknown_skill_is_a_404_page_with_a_search_link(site):
    page = site.get("/skills/ghostSkill")
    assert page.status_code == 404 and 'href="/?q=ghostSkill"' in page.text
    api = site.get("/api/skills/ghostSkill")
    assert api.status_code == 404 and "ghostSkill" in api.json()["detail"]
    assert site.get("/runs/nope").status_code == 404 and site.get("/api/runs/nope").status_code == 404
    assert site.get("/no/such/page").status_code == 404


@pytest.mark.node  # the data fixture
def test_foreign_host_headers_are_refused(site):
    assert site.get("/", headers={"host": "evil.example"}).status_code == 400  # DNS rebinding
    assert site.get("/", headers={"host": "localhost"}).status_code == 200


@pytest.mark.node  # the data fixture
def test_static_assets_are_served_from_the_package(site):
    for path, kind in (("/static/style.css", "text/css"), ("/static/code.css", "text/css"),
                       ("/static/favicon.svg", "image/svg+xml")):
        response = site.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
    assert "/api/skills" in site.get("/api").text
    assert site.get("/api/openapi.json").json()["paths"]["/api/search"]


# ---- the command ------------------------------------------------------------------------------

def test_serve_refuses_a_missing_library_without_allow_write(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--library", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no skill library at" in result.output


@pytest.mark.node  # the data fixture
def test_serve_binds_loopback_and_warns_for_other_hosts(data, tmp_path):
    library_dir, runs = data
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    lifelong = shutil.which("lifelong", path=str(Path(sys.executable).parent))
    port = _free_port()
    proc = subprocess.Popen([lifelong, "serve", "--library", str(library_dir), "--runs", str(runs),
                             "--port", str(port), "--host", "0.0.0.0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/skills", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/api/runs", timeout=10).status_code == 200
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert "warning" in err and "binding 0.0.0.0" in err and "no login" in err.lower()
    assert f"http://0.0.0.0:{port}/" in out and "read-only" in out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_default_host_is_loopback():
    from lifelong.cli.serve import serve

    assert ServeConfig(library=Path("l"), runs=Path("r")).host == "127.0.0.1"
    import inspect

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert json.dumps(ServeConfig(library=Path("l"), runs=Path("r"), host="0.0.0.0").hosts()) == '["*"]'
