"""The `node` marker's rule (tests/conftest.py): a test that starts Node says so, so that
`make test-fast` can leave it out; `minecraft` tests get the marker; an unmarked test that starts
Node fails, saying how to fix it. Nothing here starts Node."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import starts_node

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).parent / "conftest.py").read_text()
MARKERS = ["-o", "markers=node\nminecraft", "-p", "no:cacheprovider"]


@pytest.mark.parametrize(("args", "node"), [
    (["node", "probe.js"], True),
    (["/usr/bin/node", "--version"], True),
    (["/venv/bin/python", "-m", "lifelong.sandbox", "--policy", "{}", "--", "node", "x.js"], True),
    ("node bridges/server/index.js --port 25565", True),
    (["npx", "standard"], True),
    (["/venv/bin/python", "-c", "print('node')"], False),
    ("git status", False),
])
def test_node_is_recognised_however_it_is_started(args, node):
    assert starts_node(args) is node


def test_minecraft_tests_are_node_tests_and_test_fast_leaves_them_out(pytester: pytest.Pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("""
        import pytest

        @pytest.mark.minecraft
        def test_on_the_server(): pass

        def test_pure(): pass
    """)
    result = pytester.runpytest("-m", "not node", *MARKERS)
    result.assert_outcomes(passed=1, deselected=1)


def test_an_unmarked_test_that_starts_node_fails_saying_how_to_fix_it(pytester: pytest.Pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("""
        import subprocess

        def test_sneaks_node():
            try:
                subprocess.run(["node", "--version"])
            except RuntimeError:
                pass  # the guard's refusal, swallowed as code under test might
    """)
    result = pytester.runpytest(*MARKERS)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*started Node*without @pytest.mark.node*"])
