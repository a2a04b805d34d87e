"""What a Minecraft program declares and calls: the runner's own decision, asked of Node.

Which function is a program's main and which names it calls are decided by acorn in
``bridges/bot/runner.js`` (``describeProgram``), the parser that also runs the program, so Python
and the bot cannot disagree: :func:`program_info` is the one way Python asks, and everything
else (the action agent's check of a reply, the skills sent with a step, a stored skill's
``calls``) goes through it.

Why Node and not a Python parser (measured on the 2-core dev machine): a pure-Python port
(``esprima`` 4.0.1, the one on PyPI) would be a second implementation that can disagree with
acorn, and it does: it refuses optional chaining (``a?.b``), so it failed on every program the
planner writes (5 of 5 tried); on those programs with ``?.`` removed it took 40-135 ms each,
against 8-20 ms for acorn in a warm Node. Starting Node costs ~120 ms, too much per program (an
iteration reads each program 3-4 times), so one Node process (``bridges/bot/parse.js``) is kept
for the life of the Python process, and answers are cached by code. ``benchmarks/loop_bench.py
--iterations 5 --library-size 50``, run back to back before and after: 0.40 / 0.39 s overhead per
iteration (empty / 50-skill library) before, 0.38 / 0.36 s after.
The process runs under Node's permission model, reading only ``bridges/``: it parses
untrusted text and never needs more.
"""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

BRIDGES = Path(__file__).resolve().parents[2] / "bridges"
PARSE_JS = BRIDGES / "bot" / "parse.js"
NODE_FLAGS = ("--experimental-permission", "--no-warnings")


class ProgramError(ValueError):
    """The program cannot run: acorn's message, with the line (what the runner would answer)."""


class ParserUnavailable(RuntimeError):
    """Node (v20+) is missing or its parser process died: programs cannot be read."""


@dataclass(frozen=True)
class ProgramInfo:
    """A program as the runner sees it; ``error`` is set (and the rest empty) when it would refuse it."""

    functions: tuple[tuple[str, tuple[str, ...]], ...] = ()  # top-level async functions: (name, params)
    main: str | None = None  # the one the runner calls: the last of ``functions``
    calls: tuple[str, ...] = ()  # names called and not declared by the program, first use first
    error: str = ""

    def skills(self, known: set[str] | frozenset[str] | dict[str, object]) -> list[str]:
        """The names in ``known`` (library skills) this program calls, sorted."""
        return sorted(n for n in self.calls if n in known)


class _Parser:
    """One ``node parse.js`` for this process, started on first use and again if it dies."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> subprocess.Popen[str]:
        node = shutil.which("node")
        if not node:
            raise ParserUnavailable("reading a Minecraft program needs Node.js v20+ (bridges/bot/parse.js): "
                                    "install it (`make setup`)")
        argv = [node, *NODE_FLAGS, f"--allow-fs-read={BRIDGES}", str(PARSE_JS)]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                encoding="utf-8", bufsize=1)
        atexit.register(_stop, proc)
        return proc

    def ask(self, code: str) -> dict[str, Any]:
        with self.lock:
            for attempt in (1, 2):  # a parser killed under us is started again once
                if self.proc is None or self.proc.poll() is not None:
                    self.proc = self.start()
                line = _exchange(self.proc.stdin, self.proc.stdout, json.dumps({"code": code}))
                if line:
                    return json.loads(line)
                self.proc = None
            raise ParserUnavailable(f"the program parser ({PARSE_JS}) exited without answering (twice)")


def _exchange(stdin: IO[str] | None, stdout: IO[str] | None, request: str) -> str:
    try:
        assert stdin is not None and stdout is not None
        stdin.write(request + "\n")
        stdin.flush()
        return stdout.readline()
    except (BrokenPipeError, OSError):
        return ""


def _stop(proc: subprocess.Popen[str]) -> None:
    """At exit: end of input lets parse.js finish on its own; kill it if it does not."""
    if proc.poll() is None:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()


_parser = _Parser()


@lru_cache(maxsize=2048)
def program_info(code: str) -> ProgramInfo:
    """The one question Python asks about a program's JavaScript (see the module's docstring)."""
    answer = _parser.ask(code)
    if "error" in answer:
        error = answer["error"]
        return ProgramInfo(error=str(error.get("message") if isinstance(error, dict) else error))
    functions = tuple((str(f["name"]), tuple(map(str, f["params"]))) for f in answer["functions"])
    return ProgramInfo(functions, answer.get("main"), tuple(map(str, answer["calls"])))


def main_of(code: str) -> str:
    """The function the runner calls; ProgramError (the runner's reason) when there is none."""
    info = program_info(code)
    if info.error:
        raise ProgramError(info.error)
    if info.main is None:
        raise ProgramError("the code defines no top-level `async function name(bot) { ... }`")
    return info.main
