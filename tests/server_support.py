"""The embedded server as the Minecraft test modules start it (one per module, detached)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lifelong.minecraft.server import EmbeddedServer


def running_server(tmp_path_factory: pytest.TempPathFactory, port: int, **options) -> Iterator[EmbeddedServer]:
    """A detached embedded server in a fresh world (seed 42 unless given) for a module fixture."""
    srv = EmbeddedServer(world_dir=tmp_path_factory.mktemp("world"), port=port,
                         **{"seed": 42, **options})
    srv.start(detach=True)
    yield srv
    srv.stop()
