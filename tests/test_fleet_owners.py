"""The fleet's shared owners without Minecraft: claims (exclusive, kept for a restarted explorer,
released on failure, lapsing after the lease), outcomes recorded once per key, the memory's file
surviving its owner, two curricula proposing different tasks from one memory, and the library
served over the local transport (one explorer retrieves what another stored; a re-add is not a
second version)."""

import secrets
import time
from pathlib import Path

import pytest

from lifelong.minecraft.curriculum import StaticCurriculum
from lifelong.minecraft.shared import (
    LibraryOwner,
    LocalOwners,
    MemoryOwner,
    RemoteLibrary,
    SharedCurriculum,
    connect_local,
)


def direct(owner):
    return lambda method, *args, **kwargs: getattr(owner, method)(*args, **kwargs)


def test_a_claim_is_exclusive_and_ends_with_its_recorded_outcome(tmp_path):
    memory = MemoryOwner(str(tmp_path / "memory.json"))
    assert memory.claim("Craft 1 stick", 0)
    assert not memory.claim("Craft 1 stick", 1)
    assert memory.claim("Craft 1 stick", 0)  # a restarted explorer 0 keeps its own claim
    assert memory.view(1)["busy"] == ["Craft 1 stick"] and memory.view(0)["busy"] == []
    assert memory.record("0:1", "Craft 1 stick", 0, True)
    assert not memory.record("0:1", "Craft 1 stick", 0, True)  # replayed after a crash: ignored
    state = memory.state()
    assert state["memory"]["completed"] == ["Craft 1 stick"] and state["memory"]["finished"] == 1
    assert state["claims"] == {} and memory.claim("Craft 1 stick", 1)


def test_a_task_completed_while_another_explorer_proposed_it_is_not_claimed(tmp_path):
    memory = MemoryOwner(str(tmp_path / "memory.json"))
    seen = len(memory.view(1)["memory"]["completed"])  # explorer 1 starts proposing from this memory
    memory.claim("Craft 4 stick", 0)
    memory.record("0:1", "Craft 4 stick", 0, True)  # ... while explorer 0 finishes the same task
    assert not memory.claim("Craft 4 stick", 1, seen)
    assert memory.claim("Craft 4 stick", 1, seen + 1)  # proposed again knowing it is done: a repeat


def test_an_explorer_holds_one_claim_and_a_failed_one_frees_it(tmp_path):
    memory = MemoryOwner(str(tmp_path / "memory.json"))
    memory.claim("Mine 1 wood log", 0)
    memory.claim("Mine 1 dirt", 0)  # a proposal cut short by a crash, then another: the first is dropped
    assert list(memory.state()["claims"]) == ["Mine 1 dirt"]
    assert memory.release(0, "explorer 0 failed: no Node") == ["Mine 1 dirt"]
    assert memory.claim("Mine 1 dirt", 1)
    assert memory.state()["released"][0]["why"] == "explorer 0 failed: no Node"


def test_a_silent_explorers_claim_lapses_after_the_lease(tmp_path):
    memory = MemoryOwner(str(tmp_path / "memory.json"), lease_s=0.3)
    memory.claim("Mine 1 coal", 0)
    assert not memory.claim("Mine 1 coal", 1)
    time.sleep(0.4)
    assert memory.claim("Mine 1 coal", 1)
    assert "lease expired" in memory.state()["released"][0]["why"]


def test_the_memory_file_outlives_its_owner(tmp_path):
    path = str(tmp_path / "memory.json")
    first = MemoryOwner(path)
    first.claim("Craft 4 planks", 1)
    first.claim("Mine 1 wood log", 0)
    first.record("0:1", "Mine 1 wood log", 0, True)
    again = MemoryOwner(path)  # the head was killed; --resume starts a new owner
    assert again.state()["memory"]["completed"] == ["Mine 1 wood log"]
    assert not again.claim("Craft 4 planks", 0)  # explorer 1 resumes it from its checkpoint
    assert not again.record("0:1", "Mine 1 wood log", 0, True)


@pytest.fixture
def tasks(tmp_path: Path) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text("name: c\ntasks: [Mine 1 wood log, Craft 4 planks, Craft 4 stick, Craft 1 crafting table]\n")
    return path


def test_two_curricula_on_one_memory_propose_different_tasks_and_count_each_once(tmp_path, tasks):
    owner = MemoryOwner(str(tmp_path / "memory.json"))
    a = SharedCurriculum(StaticCurriculum(tasks), direct(owner), 0)
    b = SharedCurriculum(StaticCurriculum(tasks), direct(owner), 1)
    first, second = a.propose({}), b.propose({})
    assert (first.name, second.name) == ("Mine 1 wood log", "Craft 4 planks")
    saved = a.state_dict()  # a's checkpoint with the task in hand
    a.record(first.name, True)
    a.load_state_dict(saved)  # killed before its next checkpoint: the outcome is replayed
    a.record(first.name, True)
    assert owner.state()["memory"]["finished"] == 1
    assert a.propose({}).name == "Craft 4 stick"  # b still holds the planks
    b.record(second.name, False)
    assert b.propose({}).name == "Craft 1 crafting table"
    assert owner.state()["memory"] == {"completed": ["Mine 1 wood log"], "failed": ["Craft 4 planks"],
                                       "failed_at": {"Craft 4 planks": 2}, "retries": {"Craft 4 planks": 1},
                                       "finished": 2}


def test_a_curriculum_that_only_proposes_claimed_tasks_says_so(tmp_path, tasks):
    owner = MemoryOwner(str(tmp_path / "memory.json"))
    one = tmp_path / "one.yaml"
    one.write_text("tasks: [Mine 1 wood log]\n")
    owner.claim("Mine 1 wood log", 0)

    class Stubborn(StaticCurriculum):  # a curriculum that ignores what it is told
        def propose(self, obs):
            self.memory.completed.clear()
            return super().propose(obs)

    curriculum = SharedCurriculum(Stubborn(one), direct(owner), 1, wait_s=0.5)
    with pytest.raises(RuntimeError, match="claimed by another explorer.*fewer --workers"):
        curriculum.propose({})


def test_explorers_share_the_library_over_the_local_transport(tmp_path, embedder):
    key = secrets.token_bytes(16)
    owners = LocalOwners(LibraryOwner(str(tmp_path / "lib"), embedder), MemoryOwner(str(tmp_path / "m.json")), key)
    try:
        lib_a, _ = connect_local(owners.address, key)
        lib_b, memory_b = connect_local(owners.address, key)
        a = RemoteLibrary(lib_a, str(tmp_path / "lib"))
        b = RemoteLibrary(lib_b, str(tmp_path / "lib"))
        code = "async function mineWoodLog(bot) {\n  await mineBlock(bot, 'oak_log', 1);\n}\n"
        stored = a.add("mineWoodLog", code, "minecraft-program", description="Mines one oak log.",
                       task="Mine 1 wood log", world="minecraft")
        again = b.add("mineWoodLog", code, "minecraft-program", description="Mines a log.", world="minecraft")
        assert stored.version == again.version == 1
        found = b.retrieve("get some wood", k=5, kind="minecraft-program", world="minecraft")
        assert [s.name for s in found] == ["mineWoodLog"] and b.code("mineWoodLog") == code
        assert "mineWoodLog" in b and len(b) == 1 and b.names() == ["mineWoodLog"]
        assert memory_b("claim", "Mine 1 wood log", 1) and not owners.memory()("claim", "Mine 1 wood log", 0)
        with pytest.raises(Exception, match="no skill named"):
            b.get("nope")
    finally:
        owners.close()
    assert [p.name for p in (tmp_path / "lib" / "skills" / "mineWoodLog").iterdir()] == ["v1"]
