"""Issue 10, skill library: untrusted imports stay contained, concurrent writers lose nothing,
one damaged file never takes the library down, and a damaged index rebuilds itself.

Most tests never load the embedding model (imports and listings do not need it). Index damage
is probed in a child process with a tiny hashing embedder: some damage crashes chromadb outright
(SIGSEGV), which must fail one test, not end the whole session.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import lifelong.library as library_module
from lifelong import library_io
from lifelong.cli import app
from lifelong.embeddings import Embedder
from lifelong.library import SkillLibrary
from lifelong.library_io import ImportRefused, export_library, import_library

TESTS = Path(__file__).parent
UNLOADED = "model-never-loaded"  # an embedder name for libraries that never open the index
runner = CliRunner()


class HashEmbedder(Embedder):
    """Bag of words hashed into 64 dimensions: deterministic, instant, good enough to tell
    'raw beef from a cow' from 'smelt iron'."""

    def __init__(self) -> None:
        super().__init__("test-hash-64")
        self.__dict__["dim"] = 64

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace(".", " ").split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


SKILLS = {
    "killCow": "Find a cow, attack it and collect the raw beef.",
    "smeltIron": "Smelt raw iron into an iron ingot in a furnace.",
    "mineWoodLog": "Mine a wood log from the nearest tree.",
    "craftTable": "Craft a crafting table from planks.",
    "catchFish": "Catch a fish with a fishing rod in water.",
}


def make_library(root: Path, embedder: Embedder | str = UNLOADED) -> SkillLibrary:
    lib = SkillLibrary(root, embedder=embedder)
    for name, description in SKILLS.items():
        lib.add(name, f"async function {name}(bot) {{ bot.chat('{name}'); }}\n", kind="minecraft-program", description=description)
    return lib


@pytest.fixture
def exported(tmp_path) -> Path:
    """A library exported as a folder, with two versions of one skill and an artifact."""
    lib = make_library(tmp_path / "src")
    policy = tmp_path / "policy.pt"
    policy.write_bytes(b"weights")
    lib.add("runFast", "def compute_reward(s):\n    return s['v'], {}\n", kind="reward-function",
            description="Reward speed.", world="robotics", artifacts={"policy.pt": policy})
    lib.add("killCow", "async function killCow(bot) { /* v2 */ }\n", kind="minecraft-program", description="Kill a cow, v2.")
    return export_library(lib, tmp_path / "export", "dir")


def target(tmp_path: Path) -> SkillLibrary:
    return SkillLibrary(tmp_path / "dst", embedder=UNLOADED)


def edit_record(export: Path, name: str, version: int, **changes) -> Path:
    path = export / "skills" / name / f"v{version}" / "skill.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return path.parent


def refused(dst: SkillLibrary, src: Path, match: str, fmt: str = "auto") -> None:
    """The import is refused with ``match`` in the message, and nothing at all was written."""
    with pytest.raises(ImportRefused, match=match):
        import_library(dst, src, fmt)
    assert len(dst) == 0
    assert not list(dst.skills_dir.iterdir()) and not dst.staging_dir.exists()


def no_traceback(args: list[str]):
    """Run the CLI as a user would; whatever the input, it ends in a clean message."""
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


# ---- 1. imports read nothing outside the source, and nothing huge ---------------------------

@pytest.mark.parametrize("code_file", ["/etc/passwd", "../../../../outside.js", "..\\..\\x.js"])
def test_code_file_outside_the_version_folder_is_refused(exported, tmp_path, code_file):
    (tmp_path / "outside.js").write_text("async function stolen(bot) {}")
    (exported / "skills" / "x.js").write_text("async function stolen(bot) {}")
    edit_record(exported, "killCow", 1, code_file=code_file)
    refused(target(tmp_path), exported, "absolute or has '..'")


@pytest.mark.parametrize("what", ["code", "record", "version folder", "artifact", "artifact member"])
def test_symlinks_in_a_folder_import_are_refused(exported, tmp_path, what):
    secret = tmp_path / "secret"
    (secret / "inner").mkdir(parents=True)
    (secret / "inner" / "id_rsa").write_text("PRIVATE KEY")
    version = exported / "skills" / "killCow" / "v1"
    if what == "code":
        (version / "code.js").unlink()
        (version / "code.js").symlink_to(secret / "inner" / "id_rsa")
    elif what == "record":
        shutil.move(version / "skill.json", secret / "skill.json")
        (version / "skill.json").symlink_to(secret / "skill.json")
    elif what == "version folder":
        shutil.move(version, secret / "v1")
        version.symlink_to(secret / "v1")
    else:
        artifacts = exported / "skills" / "runFast" / "v1" / "artifacts"
        (artifacts / "policy.pt").unlink()
        if what == "artifact":
            (artifacts / "policy.pt").symlink_to(secret / "inner" / "id_rsa")
        else:  # a real folder with a link inside: copying it would follow the link
            (artifacts / "policy.pt").mkdir()
            (artifacts / "policy.pt" / "leak").symlink_to(secret / "inner")
    refused(target(tmp_path), exported, "symbolic link")


def test_symlinks_in_agent_skills_and_voyager_sources_are_refused(tmp_path):
    (tmp_path / "secret.js").write_text("async function stolen(bot) {}")
    agent = tmp_path / "agent" / "killCow"
    agent.mkdir(parents=True)
    (agent / "SKILL.md").write_text("---\nname: killCow\ndescription: Kill a cow.\n---\n\n```js\nx\n```\n")
    (agent / "code.js").symlink_to(tmp_path / "secret.js")
    refused(target(tmp_path), tmp_path / "agent", "symbolic link", "agent-skills")
    voyager = tmp_path / "voyager" / "skill"
    (voyager / "code").mkdir(parents=True)
    (voyager / "skills.json").write_text(json.dumps({"killCow": {"description": "// Kill a cow."}}))
    (voyager / "code" / "killCow.js").symlink_to(tmp_path / "secret.js")
    refused(target(tmp_path), tmp_path / "voyager", "symbolic link")


def test_oversized_code_and_record_are_refused(exported, tmp_path):
    version = exported / "skills" / "killCow" / "v1"
    (version / "code.js").write_text("//" + "x" * 999_999)  # 1 MB + 1 byte
    refused(target(tmp_path), exported, "larger than 1,000,000 bytes")
    (version / "code.js").write_text("async function killCow(bot) {}")
    edit_record(exported, "killCow", 1, evidence={"log": "x" * 1_000_000})
    refused(target(tmp_path), exported, "skill.json: larger than")


def test_artifact_and_total_size_limits(exported, tmp_path, monkeypatch):
    monkeypatch.setattr(library_io, "MAX_ARTIFACT_BYTES", 6)  # policy.pt holds 7 bytes
    refused(target(tmp_path), exported, "over MAX_ARTIFACT_BYTES")
    monkeypatch.setattr(library_io, "MAX_ARTIFACT_BYTES", 10_000)
    monkeypatch.setattr(library_io, "MAX_IMPORT_BYTES", 2_000)
    refused(target(tmp_path), exported, "more than 2,000 bytes")
    archive = export_library(SkillLibrary(tmp_path / "dst2", embedder=UNLOADED), tmp_path / "e.zip")
    with zipfile.ZipFile(archive, "a") as out:
        out.writestr("big.bin", b"\0" * 3_000)
    refused(target(tmp_path), archive, "expands to 3,.* over MAX_IMPORT_BYTES")


def _set_declared_size(archive: Path, member: str, size: int) -> None:
    """Rewrite a member's uncompressed size in the central directory (what unzip tools trust)."""
    data = bytearray(archive.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + name_len].decode() == member:
            struct.pack_into("<I", data, at + 24, size)
        at = data.find(b"PK\x01\x02", at + 4)
    archive.write_bytes(bytes(data))


@pytest.mark.parametrize("declared", [4_000_000_000, 100])
def test_zip_with_lying_sizes_is_refused(exported, tmp_path, declared):
    """A zip bomb declares a small size and inflates to a huge one (or declares a huge one)."""
    archive = tmp_path / "bomb.zip"
    shutil.make_archive(str(archive.with_suffix("")), "zip", exported)
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as out:
        out.writestr("skills/killCow/v1/artifacts/zeros.bin", b"\0" * 5_000_000)
    _set_declared_size(archive, "skills/killCow/v1/artifacts/zeros.bin", declared)
    refused(target(tmp_path), archive, "MAX_ARTIFACT_BYTES" if declared > 100 else "zip bomb|Bad CRC")


@pytest.mark.parametrize("member", ["../../escaped.txt", "/etc/evil", "..\\..\\evil.txt", "C:/evil.txt"])
def test_zip_slip_and_absolute_members_are_refused(exported, tmp_path, member):
    archive = tmp_path / "evil.zip"
    shutil.make_archive(str(archive.with_suffix("")), "zip", exported)
    with zipfile.ZipFile(archive, "a") as out:
        out.writestr(member, "pwned")
    refused(target(tmp_path), archive, "zip-slip")
    assert not (tmp_path.parent / "escaped.txt").exists()


def test_manifest_paths_outside_the_source_are_refused(exported, tmp_path):
    manifest = json.loads((exported / "manifest.json").read_text())
    for path in ("/etc", "../../src/skills/killCow/v1", "skills/../../x"):
        manifest["skills"][0]["path"] = path
        (exported / "manifest.json").write_text(json.dumps(manifest))
        refused(target(tmp_path), exported, "zip-slip|outside the source")


def test_bad_sources_end_in_a_message_not_a_traceback(exported, tmp_path):
    (exported / "skills" / "killCow" / "v1" / "code.js").write_bytes(b"\xff\xfe binary \x00")
    result = no_traceback(["skills", "import", str(exported), "--library", str(tmp_path / "a")])
    assert result.exit_code == 2 and "not UTF-8 text" in result.output
    good = tmp_path / "good.zip"
    shutil.make_archive(str(good.with_suffix("")), "zip", tmp_path / "src" / "skills")
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[:-200] + good.read_bytes()[-22:])  # directory intact
    result = no_traceback(["skills", "import", str(truncated), "--library", str(tmp_path / "b"),
                           "--format", "zip"])
    assert result.exit_code == 2 and "nothing was imported" in result.output.lower()
    agent = tmp_path / "agent" / "x"
    agent.mkdir(parents=True)
    (agent / "SKILL.md").write_text("---\nname: x\ndescription: d\nmetadata: [1]\n---\n```js\nx\n```\n")
    result = no_traceback(["skills", "import", str(tmp_path / "agent"), "--library", str(tmp_path / "c")])
    assert result.exit_code == 2 and "must be a mapping" in result.output


# ---- 2. concurrent imports: distinct versions, all complete, nothing left half-done ----------

WORKER = """
import sys
from pathlib import Path
from lifelong.library import SkillLibrary
from lifelong.library_io import import_library
library, go = Path(sys.argv[1]), Path(sys.argv[2])
(go.parent / f"ready-{sys.argv[3].split('/')[-2]}").touch()
while not go.exists():  # start together, so the imports really overlap
    pass
for source in sys.argv[3:]:
    import_library(SkillLibrary(library, embedder="{unloaded}"), Path(source))
"""


CONTENDED = [f"skill{i}" for i in range(12)]


def _source(root: Path, worker: int, round_: int) -> Path:
    """An exported folder whose skills carry code unique to this worker and round."""
    lib = SkillLibrary(root / "build", embedder=UNLOADED)
    for name in CONTENDED:
        lib.add(name, f"async function {name}(bot) {{ /* {worker}.{round_} */ }}\n",
                kind="minecraft-program", description=f"{name} from worker {worker}, round {round_}")
    return export_library(lib, root / "export", "dir")


def test_concurrent_imports_get_distinct_whole_versions(tmp_path):
    rounds, library, go = 10, tmp_path / "lib", tmp_path / "go"
    workers = []
    for worker in range(2):
        sources = [str(_source(tmp_path / f"w{worker}r{r}", worker, r)) for r in range(rounds)]
        script = WORKER.replace("{unloaded}", UNLOADED)
        workers.append(subprocess.Popen([sys.executable, "-c", script, str(library), str(go), *sources],
                                        stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    errors = [w.communicate(timeout=300)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], errors
    lib = SkillLibrary(library, embedder=UNLOADED)
    for name in CONTENDED:
        records = lib.versions(name)
        assert [s.version for s in records] == list(range(1, 2 * rounds + 1))
        assert len({s.description for s in records}) == 2 * rounds  # every import landed once
        for skill in records:
            folder = lib.skills_dir / name / f"v{skill.version}"
            assert sorted(p.name for p in folder.iterdir()) == ["code.js", "skill.json"]
            assert hashlib.sha256((folder / "code.js").read_bytes()).hexdigest() == skill.code_sha256
    assert not lib.staging_dir.exists()
    assert not [p for p in library.rglob("*") if ".tmp" in p.name]


def test_failed_import_leaves_nothing_behind(exported, tmp_path, monkeypatch):
    dst = target(tmp_path)
    real = SkillLibrary._write_version
    calls = []

    def fail_on_third(self, skill, code, artifacts):
        calls.append(skill.name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(self, skill, code, artifacts)

    monkeypatch.setattr(SkillLibrary, "_write_version", fail_on_third)
    with pytest.raises(OSError, match="No space"):
        import_library(dst, exported)
    assert len(dst) == 0 and not list(dst.skills_dir.iterdir())
    assert not dst.staging_dir.exists()


def test_staging_left_by_a_killed_writer_is_cleared_by_the_next_one(tmp_path):
    lib = SkillLibrary(tmp_path / "lib", embedder=UNLOADED)
    (lib.staging_dir / "killCow.v1").mkdir(parents=True)  # as a SIGKILL mid-write leaves it
    (lib.staging_dir / "killCow.v1" / "code.js").write_text("half")
    assert lib.add("killCow", "async function killCow(bot) {}", kind="minecraft-program", description="Kill a cow.").version == 1
    assert not lib.staging_dir.exists() and lib.code("killCow").startswith("async")


def test_delete_goes_through_the_lock_and_the_index(tmp_path, caplog):
    lib = make_library(tmp_path / "lib", HashEmbedder())
    assert lib.search("raw beef from a cow", k=1)[0][0].name == "killCow"
    lib.delete("killCow")
    assert "killCow" not in lib and not lib.staging_dir.exists()
    assert "killCow" not in [s.name for s, _ in lib.search("raw beef from a cow", k=5)]
    with pytest.raises(library_module.LibraryError, match="no skill named 'killCow'"):
        lib.delete("killCow")
    with caplog.at_level(logging.WARNING):  # the index agrees with the files on reopening
        assert SkillLibrary(tmp_path / "lib", embedder=HashEmbedder()).check_index() == 4
    assert "rebuilding" not in caplog.text and "no files" not in caplog.text


# ---- 3. re-importing a lineage adds nothing ---------------------------------------------------

def test_reimporting_a_multi_version_skill_adds_no_versions(exported, tmp_path):
    dst = target(tmp_path)
    import_library(dst, exported)
    import_library(dst, exported)
    assert [s.version for s in dst.versions("killCow")] == [1, 2]
    source = SkillLibrary(tmp_path / "src", embedder=UNLOADED)
    import_library(source, exported)  # into the library it came from
    assert [s.version for s in source.versions("killCow")] == [1, 2]


def test_relearning_old_code_still_adds_a_version(tmp_path):
    """Outside imports, code that reverts to an older version is news: it becomes the latest."""
    lib = SkillLibrary(tmp_path / "lib", embedder=UNLOADED)
    lib.add("a", "one", kind="minecraft-program", description="d")
    lib.add("a", "two", kind="minecraft-program", description="d")
    assert lib.add("a", "one", kind="minecraft-program", description="d").version == 3


# ---- 4. one truncated skill.json does not take listing and search down ------------------------

def _truncate_record(root: Path, name: str) -> Path:
    record = root / "skills" / name / "v1" / "skill.json"
    record.write_bytes(record.read_bytes()[:40])
    return record


def test_truncated_record_is_skipped_with_a_warning(tmp_path, embedder, caplog):
    lib = make_library(tmp_path / "lib", embedder)
    lib.close()
    record = _truncate_record(tmp_path / "lib", "smeltIron")
    lib = SkillLibrary(tmp_path / "lib", embedder=embedder)
    with caplog.at_level(logging.WARNING):
        assert "smeltIron" not in [s.name for s in lib.list()]
        assert len(lib.list()) == 4
        hits = lib.search("iron ingot furnace", k=5)
    assert hits and "smeltIron" not in [s.name for s, _ in hits]
    assert str(record) in caplog.text and "delete the folder" in caplog.text
    assert lib.search("raw beef from a cow", k=1)[0][0].name == "killCow"


def test_cli_list_and_search_skip_a_truncated_record(tmp_path, embedder, caplog):
    make_library(tmp_path / "lib").close()
    record = _truncate_record(tmp_path / "lib", "smeltIron")
    exe = Path(sys.executable).with_name("lifelong")
    out = subprocess.run([str(exe), "skills", "list", "--library", str(tmp_path / "lib"), "--json"],
                         capture_output=True, text=True, check=False,
                         env={**os.environ, "COLUMNS": "500"})
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 4 and "Traceback" not in out.stderr
    assert str(record) in out.stderr and "restore it" in out.stderr
    with caplog.at_level(logging.WARNING):
        result = no_traceback(["skills", "search", "raw beef from a cow", "--library",
                               str(tmp_path / "lib"), "--json", "--top", "5"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["name"] == "killCow"
    assert str(record) in caplog.text
    result = no_traceback(["skills", "show", "smeltIron", "--library", str(tmp_path / "lib")])
    assert result.exit_code == 2 and "unreadable" in result.output


# ---- 5. a damaged index is rebuilt from the files, with a warning -----------------------------

PROBE = """
import json, logging, sys
sys.path.insert(0, {tests!r})
import lifelong.library as library_module
from test_faults_library import HashEmbedder, SMALL_HNSW
library_module.HNSW = SMALL_HNSW
messages = []
handler = logging.Handler()
handler.emit = lambda record: messages.append(record.getMessage())
logging.getLogger("lifelong").addHandler(handler)
lib = library_module.SkillLibrary(sys.argv[1], embedder=HashEmbedder())
hits = [s.name for s, _ in lib.search("raw beef from a cow", k=2)]
print(json.dumps({{"hits": hits, "warnings": messages}}))
"""
# A tiny sync threshold makes chromadb write (and later read) its HNSW segment files with five
# skills; at the default (1000) they would stay empty and damaging them would prove nothing.
SMALL_HNSW = {**library_module.HNSW, "sync_threshold": 2, "batch_size": 2}


@pytest.fixture(scope="module")
def indexed_library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("indexed") / "lib"
    saved, library_module.HNSW = library_module.HNSW, SMALL_HNSW
    try:
        lib = make_library(root, HashEmbedder())
        assert lib.search("raw beef from a cow", k=1)[0][0].name == "killCow"
        lib.close()
    finally:
        library_module.HNSW = saved
    segments = {p.name for p in (root / "index").glob("*/*")}
    assert {"data_level0.bin", "header.bin", "length.bin", "link_lists.bin"} <= segments
    return root


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif how.startswith("page"):  # garbage over one 4 KiB sqlite page
        start = 4096 * int(how.split()[1])
        data[start:start + 4096] = np.random.default_rng(0).bytes(4096)
        path.write_bytes(bytes(data))
    else:  # garbage over the whole file (segment files are small)
        path.write_bytes(np.random.default_rng(1).bytes(max(len(data), 64)))


@pytest.mark.parametrize(("name", "how"), [
    # page 1 made chromadb 1.5 panic on open, page 24 fail on the first query (found by damaging
    # each page in turn); the sqlite check now catches any damaged page before chromadb opens it
    ("chroma.sqlite3", "page 1"), ("chroma.sqlite3", "page 24"), ("chroma.sqlite3", "truncate"),
    ("data_level0.bin", "garbage"), ("data_level0.bin", "truncate"), ("header.bin", "garbage"),
    ("length.bin", "garbage"), ("link_lists.bin", "garbage"),
])
def test_damaged_index_file_is_rebuilt_and_search_still_works(indexed_library, tmp_path, name, how):
    root = tmp_path / "lib"
    shutil.copytree(indexed_library, root)
    _damage(next((root / "index").rglob(name)), how)
    probe = subprocess.run([sys.executable, "-c", PROBE.format(tests=str(TESTS)), str(root)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert probe.returncode == 0, f"exit {probe.returncode}: {probe.stderr[-2000:]}"
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    assert report["hits"][0] == "killCow"
    assert any("rebuilding it from the files" in m for m in report["warnings"]), report


def test_panic_while_searching_is_caught_and_the_index_rebuilt(tmp_path, caplog, monkeypatch):
    """chromadb's Rust core panics with pyo3's PanicException, a BaseException."""
    PanicException = type("PanicException", (BaseException,), {})
    lib = make_library(tmp_path / "lib", HashEmbedder())
    assert lib.check_index() == 5
    real_query = type(lib._collection).query
    calls = []

    def panicking_query(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise PanicException("Expect it to be fetched: Database(SqliteError { code: 11 })")
        return real_query(self, *args, **kwargs)

    monkeypatch.setattr(type(lib._collection), "query", panicking_query)
    with caplog.at_level(logging.WARNING):
        assert lib.search("raw beef from a cow", k=1)[0][0].name == "killCow"
    assert "PanicException" in caplog.text and "rebuilding" in caplog.text

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(lib._collection), "query", interrupted)
    with pytest.raises(KeyboardInterrupt):  # an interrupt is not index damage: no rebuild
        lib.search("raw beef from a cow", k=1)
