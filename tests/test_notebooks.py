"""Notebooks must stay in step with the code: valid nbformat JSON, and every code cell compiles."""

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_code_compiles_and_imports_exist(path):
    nb = json.loads(path.read_text())
    assert nb["nbformat"] == 4
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert sources
    for source in sources:
        tree = ast.parse(source)
        for node in ast.walk(tree):  # imports of the project must resolve today
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lifelong"):
                module = __import__(node.module, fromlist=[a.name for a in node.names])
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{path.name}: {node.module}.{alias.name} is gone"
