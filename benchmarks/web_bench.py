"""`lifelong serve` at 10,000 skills: time to first byte of the pages and of the search API.

    python benchmarks/web_bench.py --n 10000 --json

Builds a library of N skills (library_bench's varied descriptions; each skill calls up to two
earlier ones, so the call graph has callers to compute), indexes it, then starts the real
command, ``lifelong serve``, in its own process and requests over HTTP/1.1 keep-alive:

* ``/`` (the first page of the list, newest first) and ``/?sort=used&p=100`` (a deep page);
* ``/api/search?q=...`` with a different query each time (library_bench's query set);
* ``/skills/<name>`` and ``/api/skills?per=100``.

Time to first byte is measured from sending the request to receiving the response's status
line and headers (``http.client``'s ``getresponse``); ``total`` includes reading the body.
Targets: p50 TTFB of ``/`` under 200 ms and of ``/api/search`` under 50 ms.

The peers, measured in the same run: ``SkillLibrary.list()`` (what a page that read the library
per request would pay before rendering anything) and ``SkillLibrary.search`` in-process (the
floor under ``/api/search``: the query's embedding plus the index query). ``catalog_first_load_ms``
and ``catalog_recheck_ms`` are the server's own costs of reading every record once at start-up and
of checking the files for changes (done in the background at most once a second).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import emit
from library_bench import PrecomputedEmbedder, descriptions

from lifelong.embeddings import Embedder
from lifelong.host import free_port
from lifelong.library import SkillLibrary
from lifelong.web.catalog import Catalog

TARGETS_MS = {"index": 200.0, "search": 50.0}


def build(root: Path, n: int, seed: int) -> tuple[SkillLibrary, list[str], dict[str, float]]:
    """N skills (85% Minecraft programs, the rest rewards) and their index; returns the library,
    the search queries and the build timings."""
    rng = random.Random(seed)
    texts = descriptions(n, rng)
    queries = [t.split(".")[0].replace("Mine", "Get").replace("Craft", "Make") for t in rng.sample(texts, 300)]
    base = Embedder()
    t0 = time.perf_counter()
    records = [f"{t}\n{t[:40]}".strip() for t in texts]
    embedder = PrecomputedEmbedder(dict(zip(records, base.encode(records, batch_size=128), strict=True)))
    embed_s = time.perf_counter() - t0
    library = SkillLibrary(root, embedder=embedder)
    t0 = time.perf_counter()
    for i, text in enumerate(texts):
        robot = text.startswith("Reward function")
        calls = [] if robot or i == 0 else rng.sample(range(max(0, i - 50), i), k=min(i, rng.choice([0, 1, 2])))
        body = "".join(f"  await skill_{j}(bot);\n" for j in calls)
        code = (f"def compute_reward(state):\n    return state['x'], {{'x': state['x']}}  # {i}\n" if robot
                else f"async function skill_{i}(bot) {{\n{body}  await mineBlock(bot, 'stone', {i % 7 + 1});\n}}\n")
        library.add(f"skill_{i}", code, kind="reward-function" if robot else "minecraft-program",
                    description=text, task=text[:40], calls=[f"skill_{j}" for j in calls],
                    world="robotics" if robot else "minecraft")
    add_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    library.check_index()
    index_s = time.perf_counter() - t0
    library.close()
    return library, queries, {"embed_s": round(embed_s, 1), "add_s": round(add_s, 1), "index_s": round(index_s, 1)}


def start_server(library: Path, runs: Path, port: int) -> subprocess.Popen:
    cli = Path(sys.executable).with_name("lifelong")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([str(cli), "serve", "--library", str(library), "--runs", str(runs),
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # ready = the search answers (model loaded, index open)
        if proc.poll() is not None:
            raise RuntimeError(f"lifelong serve exited: {proc.stderr.read().decode()}")
        try:
            if get(http.client.HTTPConnection("127.0.0.1", port, timeout=300), "/api/search?q=warm")[2] == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("lifelong serve did not become ready in 300 s")


def get(conn: http.client.HTTPConnection, path: str) -> tuple[float, float, int]:
    """(TTFB ms, total ms, status) of one GET on a kept-alive connection."""
    t0 = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    ttfb = time.perf_counter() - t0
    response.read()
    return ttfb * 1000, (time.perf_counter() - t0) * 1000, response.status


def measure(port: int, paths: list[str]) -> dict[str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    get(conn, paths[0])  # connect, and warm this route
    ttfb, total = [], []
    for path in paths:
        first, whole, status = get(conn, path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        ttfb.append(first)
        total.append(whole)
    conn.close()
    return {"ttfb_p50_ms": round(statistics.median(ttfb), 2),
            "ttfb_p95_ms": round(float(np.percentile(ttfb, 95)), 2),
            "total_p50_ms": round(statistics.median(total), 2), "requests": len(paths)}


def peers(library: SkillLibrary, queries: list[str]) -> dict[str, float]:
    t0 = time.perf_counter()
    library.list()
    list_ms = (time.perf_counter() - t0) * 1000
    library.search("warm up", k=5)
    search = []
    for q in queries[:100]:
        t0 = time.perf_counter()
        library.search(q, k=5)
        search.append((time.perf_counter() - t0) * 1000)
    catalog = Catalog(library, ttl_s=0.0, background=False)  # time the recheck itself
    t0 = time.perf_counter()
    catalog.refresh()
    load_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    catalog.refresh()
    recheck_ms = (time.perf_counter() - t0) * 1000
    library.close()
    return {"peer_library_list_ms": round(list_ms, 1), "peer_search_inprocess_p50_ms": round(statistics.median(search), 2),
            "catalog_first_load_ms": round(load_ms, 1), "catalog_recheck_ms": round(recheck_ms, 1)}


def run(n: int, requests: int, seed: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="web-bench-"))
    try:
        library, queries, timings = build(tmp / "library", n, seed)
        (tmp / "runs").mkdir()
        port = free_port()
        proc = start_server(library.root, tmp / "runs", port)
        try:
            rng = random.Random(seed)
            results = {
                "index": measure(port, ["/"] * requests),
                "index_deep_page": measure(port, ["/?sort=used&p=100"] * requests),
                "search": measure(port, [f"/api/search?q={quote(q)}&top=5" for q in rng.choices(queries, k=requests)]),
                "skill_page": measure(port, [f"/skills/skill_{rng.randrange(n)}" for _ in range(requests)]),
                "api_skills_100": measure(port, ["/api/skills?per=100"] * requests),
            }
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        out = {"n": n, **timings, **{f"{k}_{m}": v for k, r in results.items() for m, v in r.items()
                                     if m != "requests"},
               "requests_per_route": requests, **peers(library, queries)}
        out.update({f"{k}_target_ms": t for k, t in TARGETS_MS.items()})
        out.update({f"{k}_meets_target": out[f"{k}_ttfb_p50_ms"] < t for k, t in TARGETS_MS.items()})
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000, help="skills in the library")
    parser.add_argument("--requests", type=int, default=200, help="requests per route")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args.n, args.requests, args.seed)
    emit(result, args.json)


if __name__ == "__main__":
    main()
