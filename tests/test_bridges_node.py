"""Run the JavaScript side's own node:test suites, so `make test` covers both languages."""

import shutil
import subprocess
from pathlib import Path

import pytest

BRIDGES = Path(__file__).resolve().parents[1] / "bridges"


@pytest.mark.slow
@pytest.mark.minecraft
@pytest.mark.timeout(1500)  # 17 suites, several on live servers: ~10 min on 2 loaded cores
def test_node_suites_pass():
    if shutil.which("node") is None:
        pytest.fail("node is not installed: lifelong needs Node 20 for the Minecraft side")
    suites = sorted(str(p.relative_to(BRIDGES)) for p in (BRIDGES / "test").glob("*.test.js"))
    assert suites, "bridges/test has no *.test.js suites"
    result = subprocess.run(
        ["node", "--test", "--test-concurrency=1", *suites],
        cwd=BRIDGES, capture_output=True, text=True, timeout=1400, check=False,
    )
    summary = "\n".join(result.stdout.splitlines()[-12:])
    assert result.returncode == 0, f"node --test failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    assert "# fail 0" in result.stdout, summary
