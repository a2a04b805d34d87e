"""`lifelong skills ...` end to end: the real console script once, in-process for the rest."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli import app
from lifelong.library import SkillLibrary

runner = CliRunner()


@pytest.fixture
def libdir(tmp_path, embedder):
    lib = SkillLibrary(tmp_path / "lib", embedder=embedder)
    lib.add("mineWoodLog", "async function mineWoodLog(bot) {}", kind="minecraft-program", description="Mine a wood log from a tree.")
    lib.add("killCow", "async function killCow(bot) {}", kind="minecraft-program", description="Kill a cow for raw beef.")
    return tmp_path / "lib"


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_console_script_list_json(libdir):
    exe = Path(sys.executable).with_name("lifelong")
    out = subprocess.run([str(exe), "skills", "list", "--library", str(libdir), "--json"],
                         capture_output=True, text=True, check=True)
    records = json.loads(out.stdout)
    assert {r["name"] for r in records} == {"mineWoodLog", "killCow"}
    assert all({"name", "kind", "description"} <= r.keys() for r in records)


def test_search_show_export_import_rebuild(libdir, tmp_path):
    result = run("skills", "search", "get some beef", "--library", str(libdir), "--top", "1", "--json")
    assert [r["name"] for r in json.loads(result.stdout)] == ["killCow"]
    assert "mineWoodLog" in run("skills", "show", "mineWoodLog", "--library", str(libdir)).stdout
    assert run("skills", "export", str(tmp_path / "out.zip"), "--library", str(libdir)).exit_code == 0
    result = run("skills", "import", str(tmp_path / "out.zip"), "--library", str(tmp_path / "lib2"))
    assert "imported 2 skills" in result.stdout
    assert "rebuilt: 2" in run("skills", "rebuild", "--library", str(tmp_path / "lib2")).stdout


def test_errors_are_actionable(libdir, tmp_path):
    result = runner.invoke(app, ["skills", "export", str(tmp_path / "x"), "--library", str(libdir),
                                 "--format", "rar"])
    assert result.exit_code == 2 and "valid formats are: zip, dir, agent-skills" in result.output
    result = runner.invoke(app, ["skills", "show", "nope", "--library", str(libdir)])
    assert result.exit_code == 2 and "no skill named 'nope'" in result.output
