"""Shared fixtures. LLM paths always go through a real local HTTP server (ChatServer)."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


# ---- `make test-fast` runs no Node and no server ---------------------------------------------
# A test that starts Node (the bot, the embedded server, the program parser) is marked `node`;
# `minecraft` (Node and a server) implies it. test-fast deselects `node`, and the guard below
# fails any other test that starts Node, so the rule holds as tests change.

NODE_PROGRAMS = {"node", "nodejs", "npm", "npx"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`minecraft` tests need Node too: give them the `node` marker before -m selects."""
    for item in items:
        if item.get_closest_marker("minecraft") and not item.get_closest_marker("node"):
            item.add_marker(pytest.mark.node)


def starts_node(args: Any) -> bool:
    """Whether a Popen argument list runs Node (directly, or through a launcher or sandbox)."""
    if isinstance(args, (str, bytes, os.PathLike)):
        text = os.fsdecode(args)
        try:
            argv = shlex.split(text)
        except ValueError:  # unbalanced quotes: a shell would refuse it too, words will do
            argv = text.split()
    else:
        argv = [os.fsdecode(a) for a in args]
    return any(Path(a).name in NODE_PROGRAMS for a in argv)


@pytest.fixture(autouse=True)
def _node_only_when_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse to start Node in a test not marked `node`, and fail it saying how to fix that."""
    if request.node.get_closest_marker("node"):
        yield
        return
    started: list[str] = []
    popen_init = subprocess.Popen.__init__

    def guarded(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        if starts_node(args):
            started.append(str(args))
            raise RuntimeError(f"this test is not marked `node` but starts Node: {args!r}")
        popen_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded)
    yield
    if started:
        pytest.fail(f"{request.node.nodeid} started Node ({started[0]}) without @pytest.mark.node: "
                    "mark it (or its module) so `make test-fast` can leave it out", pytrace=False)
