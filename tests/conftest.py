"""Shared fixtures. LLM paths always go through a real local HTTP server (ChatServer)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test runs in its own folder, so caches and default run/library paths never leak."""
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("LIFELONG_")]:
        monkeypatch.delenv(key)
    yield


@pytest.fixture(scope="session")
def embedder():
    """The real offline model, loaded once per test session (~8 s cold)."""
    from lifelong.embeddings import Embedder

    model = Embedder()
    model.encode(["warm up"])
    return model
