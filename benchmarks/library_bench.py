"""Skill-library speed and retrieval quality at scale.

    python benchmarks/library_bench.py --n 10000 --json

Builds a library of N skills with realistic, varied descriptions (Minecraft programs and robot
rewards), then reports:

* ``embed_ms_per_description``: sentence-transformers, batched, on this machine;
* ``add_per_s``: ``SkillLibrary.add`` throughput (files written atomically) and ``index_per_s``
  for indexing them into chromadb (embeddings precomputed, so this is chroma's own cost);
* ``p50_ms`` / ``p95_ms``: a top-5 index query (the query embedding precomputed: that part is
  ``embed_query_ms``, reported separately), and ``search_p50_ms`` for the whole
  ``SkillLibrary.search`` call including the embedding and reading the records;
* ``recall_at_5``: against exact brute-force cosine search over the same embeddings, and
  ``recall_at_5_default_hnsw`` for the same vectors under chromadb's default HNSW settings;
* ``random_*``: the same comparison on uniform random unit vectors, the worst case for HNSW.

The peers, exact search (numpy) and default-configured chroma, are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import emit

from lifelong.cli.common import tracked
from lifelong.embeddings import Embedder
from lifelong.library import HNSW, SkillLibrary

MC_DATA = ROOT / "bridges/node_modules/minecraft-data/minecraft-data/data/pc/1.21.1/items.json"
VERBS = ["Mine", "Craft", "Smelt", "Collect", "Kill", "Cook", "Equip", "Deposit", "Find", "Trade for"]
PLACES = ["near the spawn point", "in a cave", "on the surface", "in a birch forest", "by the river",
          "in the desert", "underground below y=16", "in a snowy taiga", "on a mountain", "at night"]
METHODS = ["using a stone pickaxe", "with bare hands", "after crafting a crafting table",
           "with an iron sword", "by exploring until it is found", "using the furnace with coal",
           "by pathfinding to the nearest block", "while avoiding lava", "from a chest",
           "after placing a torch"]
ROBOTS = ["Ant", "HalfCheetah", "Hopper", "Walker2d", "Humanoid", "Swimmer", "Reacher", "Pusher"]
GOALS = ["run forward as fast as possible", "run backwards", "jump as high as possible",
         "perform a backflip", "stay upright while standing still", "turn in place",
         "move sideways", "balance on one leg", "reach the target with the fingertip",
         "push the object to the goal"]


def items() -> list[str]:
    if MC_DATA.exists():
        return [i["name"].replace("_", " ") for i in json.loads(MC_DATA.read_text())]
    return [f"item {i}" for i in range(1300)]


def descriptions(n: int, rng: random.Random) -> list[str]:
    names, out, seen = items(), [], set()
    while len(out) < n:
        if rng.random() < 0.85:
            verb, item = rng.choice(VERBS), rng.choice(names)
            count = rng.choice([1, 2, 3, 4, 8, 16, 32])
            text = (f"{verb} {count} {item} {rng.choice(PLACES)} {rng.choice(METHODS)}. "
                    f"The function first checks the inventory for {rng.choice(names)}, "
                    f"then {rng.choice(METHODS)}.")
        else:
            text = (f"Reward function for {rng.choice(ROBOTS)} to {rng.choice(GOALS)}, "
                    f"with a penalty on {rng.choice(['control cost', 'contact forces', 'falling'])} "
                    f"and a bonus for {rng.choice(GOALS)}.")
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


class PrecomputedEmbedder(Embedder):
    """The real model, with the benchmark's texts embedded once up front."""

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.table = table

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        missing = [t for t in texts if t not in self.table]
        if missing:
            for text, vec in zip(missing, super().encode(missing), strict=True):
                self.table[text] = vec
        return np.stack([self.table[t] for t in texts]) if texts else super().encode([])


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def run(n: int, queries: int, seed: int) -> dict:
    rng = random.Random(seed)
    texts = descriptions(n, rng)
    query_texts = [t.split(".")[0].replace("Mine", "Get").replace("Craft", "Make") for t in rng.sample(texts, queries)]
    record_texts = [f"{t}\n{t[:40]}".strip() for t in texts]  # what a record embeds: description + task
    base = Embedder()
    base.encode(["warm up"])
    t0 = time.perf_counter()
    vectors = base.encode(record_texts, batch_size=128)
    embed_s = time.perf_counter() - t0
    qvecs = base.encode(query_texts)
    single = []
    for text in query_texts[:50]:
        t = time.perf_counter()
        base.encode([text])
        single.append((time.perf_counter() - t) * 1000)

    embedder = PrecomputedEmbedder(dict(zip(record_texts, vectors, strict=True)))
    matrix = vectors
    with tempfile.TemporaryDirectory() as tmp:
        lib = SkillLibrary(Path(tmp) / "lib", embedder=embedder)
        t0 = time.perf_counter()
        for i, text in tracked(enumerate(texts), "adding skills", total=n):
            lib.add(f"skill_{i}", f"async function skill_{i}(bot) {{}}", kind="minecraft-program", description=text, task=text[:40])
        add_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        lib.check_index()  # indexes every skill (embeddings already computed)
        index_s = time.perf_counter() - t0
        latencies, recall = query_and_score(lib._collection, matrix, qvecs)
        search = []
        for text in tracked(query_texts[:100], "searching"):
            t = time.perf_counter()
            lib.search(text, k=5)
            search.append((time.perf_counter() - t) * 1000)
        lib.close()
        _, default_recall = query_and_score(peer_collection(Path(tmp) / "d", {"space": "cosine"}, matrix), matrix, qvecs)
        worst = random_worst_case(Path(tmp) / "random", n, len(qvecs), seed)
    return {
        "n": n,
        "queries": queries,
        "hnsw": HNSW,
        "embed_ms_per_description": round(embed_s * 1000 / n, 3),
        "embed_query_ms": round(statistics.median(single), 2),
        "add_per_s": round(n / add_s, 1),
        "index_per_s": round(n / index_s, 1),
        "p50_ms": round(percentile(latencies, 50), 3),
        "p95_ms": round(percentile(latencies, 95), 3),
        "search_p50_ms": round(percentile(search, 50), 2),
        "recall_at_5": round(recall, 4),
        "recall_at_5_default_hnsw": round(default_recall, 4),
        **worst,
    }


def peer_collection(path: Path, hnsw: dict, matrix: np.ndarray):
    """A bare chroma collection holding ``matrix`` under the given HNSW settings."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
    collection = client.create_collection("peer", configuration={"hnsw": hnsw}, embedding_function=None)
    ids = [f"skill_{i}" for i in range(len(matrix))]
    for start in range(0, len(ids), 2000):
        collection.add(ids=ids[start:start + 2000], embeddings=matrix[start:start + 2000])
    return collection


def query_and_score(collection, matrix: np.ndarray, qvecs: np.ndarray) -> tuple[list[float], float]:
    """Top-5 query latencies (ms) and recall@5 against exact search over ``matrix``."""
    latencies, hits = [], 0
    for qv in qvecs:
        t = time.perf_counter()
        got = collection.query(query_embeddings=qv[None, :], n_results=5, include=[])["ids"][0]
        latencies.append((time.perf_counter() - t) * 1000)
        exact = {f"skill_{j}" for j in np.argsort(-(matrix @ qv))[:5]}
        hits += len(exact & set(got))
    return latencies, hits / (5 * len(qvecs))


def random_worst_case(path: Path, n: int, queries: int, seed: int) -> dict:
    """Uniform random unit vectors: no structure for HNSW to exploit, the hardest case."""
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((n, 384)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    qvecs = matrix[rng.choice(n, queries, replace=False)] + 0.5 * rng.standard_normal((queries, 384)).astype(np.float32) / np.sqrt(384)
    ours_ms, ours = query_and_score(peer_collection(path / "ours", HNSW, matrix), matrix, qvecs)
    _, default = query_and_score(peer_collection(path / "default", {"space": "cosine"}, matrix), matrix, qvecs)
    return {"random_recall_at_5": round(ours, 4), "random_recall_at_5_default_hnsw": round(default, 4),
            "random_p50_ms": round(percentile(ours_ms, 50), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args.n, args.queries, args.seed)
    emit(result, args.json)


if __name__ == "__main__":
    main()
