"""Export/import in every format, Voyager's layout, and refusal of unsafe or malformed sources."""

import json
import zipfile

import pytest

from lifelong.library import LibraryError, SkillLibrary
from lifelong.library_io import ImportRefused, export_library, import_library


@pytest.fixture
def lib(tmp_path, embedder):
    library = SkillLibrary(tmp_path / "src", embedder=embedder)
    library.add("mineWoodLog", "async function mineWoodLog(bot) { await mineBlock(bot, 'oak_log', 1); }",
                kind="minecraft-program", description="Mine one log.", task="Mine 1 wood log")
    library.add("mineWoodLog", "async function mineWoodLog(bot) { await mineBlock(bot, 'oak_log', 2); }",
                kind="minecraft-program", description="Mine two logs.", task="Mine 2 wood logs")
    library.add("craftPlanks", "async function craftPlanks(bot) { await mineWoodLog(bot); }",
                kind="minecraft-program", description="Craft planks.", calls=["mineWoodLog"])
    policy = tmp_path / "policy.pt"
    policy.write_bytes(b"weights")
    library.add("runFast", "def compute_reward(s):\n    return s['v'], {}\n", kind="reward-function",
                description="Reward speed.", world="robotics", artifacts={"policy.pt": policy})
    return library


def target(tmp_path, embedder, name="dst"):
    return SkillLibrary(tmp_path / name, embedder=embedder)


@pytest.mark.parametrize("fmt", ["zip", "dir"])
def test_roundtrip_keeps_versions_and_artifacts(lib, tmp_path, embedder, fmt):
    out = export_library(lib, tmp_path / f"export.{fmt}", fmt)
    dst = target(tmp_path, embedder)
    import_library(dst, out)  # auto-detected
    assert dst.names() == lib.names()
    assert [s.description for s in dst.versions("mineWoodLog")] == ["Mine one log.", "Mine two logs."]
    assert dst.get("craftPlanks").calls == ["mineWoodLog"]
    assert (dst.artifact_dir(dst.get("runFast")) / "policy.pt").read_bytes() == b"weights"
    assert dst.search("planks", k=1)[0][0].name == "craftPlanks"


def test_agent_skills_roundtrip(lib, tmp_path, embedder):
    out = export_library(lib, tmp_path / "agent", "agent-skills")
    text = (out / "craftPlanks" / "SKILL.md").read_text()
    assert text.startswith("---\nname: craftPlanks\ndescription: Craft planks.\n")
    assert "```javascript\nasync function craftPlanks" in text
    dst = target(tmp_path, embedder)
    import_library(dst, out, "agent-skills")
    assert dst.code("mineWoodLog") == lib.code("mineWoodLog")
    (out / "craftPlanks" / "code.js").unlink()  # a hand-written SKILL.md: code from the block
    dst2 = target(tmp_path, embedder, "dst2")
    import_library(dst2, out)
    assert dst2.code("craftPlanks").strip() == lib.code("craftPlanks").strip()
    assert dst.get("runFast").kind == "reward-function"


@pytest.mark.node  # a Voyager skill's calls are read by the program parser (Node)
def test_voyager_layout(tmp_path, embedder):
    root = tmp_path / "voyager" / "skill"
    (root / "code").mkdir(parents=True)
    (root / "description").mkdir()
    code_a = "async function mineWoodLog(bot) {\n  await mineBlock(bot, 'oak_log', 1);\n}"
    code_b = "async function craftTable(bot) {\n  await mineWoodLog(bot);\n  await craftItem(bot, 'crafting_table', 1);\n}"
    for name, code in (("mineWoodLog", code_a), ("craftTable", code_b)):
        (root / "code" / f"{name}.js").write_text(code)
    (root / "description" / "craftTable.txt").write_text(
        "async function craftTable(bot) {\n    // Mine a log and craft a crafting table.\n}")
    (root / "skills.json").write_text(json.dumps({
        "mineWoodLog": {"code": code_a, "description": "async function mineWoodLog(bot) {\n    // Mine a log.\n}"},
        "craftTable": {"code": code_b, "description": ""},
    }))
    dst = target(tmp_path, embedder)
    stored = import_library(dst, tmp_path / "voyager")
    assert {s.name for s in stored} == {"mineWoodLog", "craftTable"}
    assert dst.get("craftTable").description == "Mine a log and craft a crafting table."
    assert dst.get("craftTable").calls == ["mineWoodLog"]


def test_zip_slip_is_refused_and_nothing_imported(lib, tmp_path, embedder):
    good = export_library(lib, tmp_path / "good.zip", "zip")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as out:
        for info in src.infolist():
            out.writestr(info, src.read(info))
        out.writestr("../../escaped.txt", "pwned")
    dst = target(tmp_path, embedder)
    with pytest.raises(ImportRefused, match="zip-slip"):
        import_library(dst, evil)
    assert len(dst) == 0 and not (tmp_path.parent / "escaped.txt").exists()
    absolute = tmp_path / "abs.zip"
    with zipfile.ZipFile(absolute, "w") as out:
        out.writestr("/etc/evil", "x")
    with pytest.raises(ImportRefused, match="absolute"):
        import_library(dst, absolute, "zip")


def test_malformed_manifest_is_refused(lib, tmp_path, embedder):
    out = export_library(lib, tmp_path / "d", "dir")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["skills"][2].pop("version")
    (out / "manifest.json").write_text(json.dumps(manifest))
    dst = target(tmp_path, embedder)
    with pytest.raises(ImportRefused, match="malformed manifest.json.*version"):
        import_library(dst, out)
    assert len(dst) == 0
    manifest["skills"][2].update(version=1, path="../../outside")
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ImportRefused):
        import_library(dst, out)
    assert len(dst) == 0


def test_unknown_formats_name_the_valid_ones(lib, tmp_path):
    with pytest.raises(LibraryError, match="zip, dir, agent-skills"):
        export_library(lib, tmp_path / "x", "tar")
    with pytest.raises(LibraryError, match="auto, zip, dir, agent-skills, voyager"):
        import_library(lib, tmp_path, "tar")
    with pytest.raises(ImportRefused, match="cannot tell the format"):
        import_library(lib, tmp_path / "src" / "skills" / "runFast")
