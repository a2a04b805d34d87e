"""Notebooks must stay in step with the code: valid nbformat JSON, every code cell compiles, and
the benchmark notebooks execute end to end at ``LIFELONG_BENCH_SIZE=small`` (a failing cell fails
the test, through nbclient)."""

import ast
import json
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
# In this order: library_growth reads back the curriculum benchmark's runs (same LIFELONG_BENCH_DIR).
EXECUTED = ["curriculum_benchmark.ipynb", "library_growth.ipynb", "eureka_benchmark.ipynb"]


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


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One runs folder for the module, so the library notebook reuses the curriculum one's runs."""
    return tmp_path_factory.mktemp("bench")


@pytest.mark.slow
@pytest.mark.minecraft
@pytest.mark.parametrize("name", EXECUTED)
def test_notebook_executes_at_small_size(name, bench_dir, monkeypatch):
    import nbclient
    import nbformat

    monkeypatch.setenv("LIFELONG_BENCH_SIZE", "small")
    monkeypatch.setenv("LIFELONG_BENCH_DIR", str(bench_dir))
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=540, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()  # raises CellExecutionError, naming the cell, when one fails
    text = "\n".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                     for out in cell.get("outputs", []))
    assert "not an LLM" in text, f"{name}: its outputs never name the back end as not an LLM"
    figures = sum("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
                  for out in cell.get("outputs", []))
    assert figures >= 2, f"{name}: expected its figures, got {figures}"
    assert any(bench_dir.glob("*/small/*")), "the notebook did not put its runs in LIFELONG_BENCH_DIR"
