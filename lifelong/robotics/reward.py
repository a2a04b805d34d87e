"""The reward sandbox's language layer: LLM-written reward code is checked before and while it runs.

Untrusted reward code meets two layers. This module is the first, the *language layer*: it
rejects with an exact reason that goes back to the LLM (and to the user of
``lifelong train-robot --reward FILE.py``), naming the rule broken and what to write instead.
Below it, every call of untrusted code happens in a worker process that the OS confines
(:mod:`lifelong.sandbox`, applied by :mod:`lifelong.robotics.pool` before the code is loaded): no
processes, no network, no files outside the run folder, memory and CPU-time caps. That layer
holds even for code that gets past every rule here; this one makes mistakes cheap and clear.

Gates of the language layer:

1. **Format** (:func:`extract_code`): the reply must hold a ```python block (or be bare code).
2. **Static** (:func:`check_source`): the AST is walked against an allowlist: imports only of
   numpy, torch and math and a few of their submodules (:data:`ALLOWED_SUBMODULES`); no private
   or dunder attribute; no attribute that reaches files, processes or code loading (``np.load``,
   ``torch.os``, ``str.format``); no assignment to attributes (``np.isnan = ...`` would switch
   off the output checks); only a small set of harmless builtins (no ``open``/``exec``/``eval``/
   ``getattr``/``hasattr``/``vars``/``type``/``__import__``); no classes, async code or generators.
3. **Guarded attributes** (:func:`guard_attributes`): every attribute the code reads goes through
   :func:`checked_attribute`, which refuses *values* a name check cannot see: a module outside
   the allowlist however it was reached (``torch.functional.operator``, ``np.core.multiarray``,
   ``np.random.mtrand``), and callables of any other module, such as ``operator.attrgetter`` or
   ``functools.partial``, which fetch attributes by string. With ``getattr`` and its relatives
   gone as builtins and unreachable as values, every attribute the code can touch is spelled in
   the source, where gate 2 reads it.
4. **Running** (:class:`SandboxedReward`): the code runs with ``__builtins__`` limited to that set,
   under a time limit for the module body, the first call and every later call, and every
   output is checked for type, shape [N], NaN and inf (``sim.call_reward``).

Time limits: a wall-clock SIGALRM whose Python handler raises :class:`RewardTimeout` at the
candidate's next bytecode, so a Python loop is reported with its line. A long call inside numpy
or torch C code never returns to the interpreter, so in a worker (:func:`enable_hard_time_limits`)
each call also arms ITIMER_PROF, whose SIGPROF keeps its default action: after the limit plus
:data:`HARD_GRACE_S` of CPU time the kernel ends the process, and the parent reports "a reward
call ran over N s". Two ``setitimer`` calls per reward call, not measurable in env-steps/s.

Why not RestrictedPython (PyPI): it rewrites attribute reads into ``_getattr_`` calls, as gate 3
does, but its guards are name-based (``safer_getattr`` refuses ``_`` names and ``format``), so
the module and value checks gate 3 needs would be ours either way; its compile errors are
generic ("... is an invalid attribute name because it starts with '_'") where the LLM needs
what to write instead; and it also wraps every subscript, iteration and write
(``_getitem_``/``_getiter_``/``_write_``), which our threat model leaves to the OS layer.
Cost is no reason either way: one call of the HalfCheetah human reward on 64 envs measured
14-18 us plain, 14-18 us with gate 3 and 13-19 us under RestrictedPython 9.0 with its usual
guards (a shared 2-core machine, best of 5 x 20000), against ~6 ms for one step of the 64 envs.
"""

from __future__ import annotations

import ast
import builtins
import math
import re
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from lifelong.robotics.sim import RewardShapeError, State, call_reward

FUNCTION_NAME = "compute_reward"
FILENAME = "<reward>"
ALLOWED_MODULES = ("numpy", "torch", "math")
# The only modules reward code may import or hold, however reached (``torch.os`` is ``os``):
ALLOWED_SUBMODULES = frozenset({
    "numpy", "numpy.linalg", "numpy.random", "numpy.fft", "math", "torch", "torch.nn",
    "torch.nn.functional", "torch.linalg", "torch.fft", "torch.special",
})
FIRST_CALL_TIMEOUT_S = 10.0  # the first call may import torch submodules lazily
CALL_TIMEOUT_S = 2.0  # one batched call of a sane reward takes microseconds
HARD_GRACE_S = 1.0  # CPU seconds past a call's limit before the kernel ends a worker stuck in C
# A reward that is merely slow (a Python loop over envs) passes every per-call limit yet would
# stretch one training to hours; after SLOW_AFTER_CALLS calls its mean call time must stay below:
SLOW_CALL_S = 0.05
SLOW_AFTER_CALLS = 20

SAFE_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "abs", "all", "any", "bool", "complex", "dict", "divmod", "enumerate", "filter", "float",
        "frozenset", "int", "isinstance", "iter", "len", "list", "map", "max", "min",
        "next", "pow", "range", "reversed", "round", "set", "slice", "sorted", "str", "sum",
        "tuple", "zip", "True", "False", "None",
        "ArithmeticError", "AssertionError", "Exception", "FloatingPointError", "IndexError",
        "KeyError", "NotImplementedError", "OverflowError", "RuntimeError", "TypeError",
        "ValueError", "ZeroDivisionError",
    )
}
_SAFE_BUILTIN_IDS = frozenset(id(value) for value in SAFE_BUILTINS.values())
# Attributes that reach outside the computation: files, processes, code loading, thread settings.
DENIED_ATTRIBUTES = frozenset({
    "os", "sys", "subprocess", "shutil", "builtins", "importlib", "ctypes", "ctypeslib", "pickle",
    "socket", "inspect", "gc", "io", "pathlib", "threading", "multiprocessing", "signal",
    "platform", "tempfile", "glob", "system", "popen", "spawn", "exec", "eval", "compile", "load",
    "loads", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt", "fromfile",
    "tofile", "fromregex", "memmap", "open_memmap", "from_file", "dump", "dumps", "hub", "ops",
    "library", "utils", "cpp_extension", "package", "serialization", "distributed", "backends",
    "f2py", "distutils", "testing", "lib", "npyio", "DataSource", "format", "format_map",
    "set_num_threads", "set_num_interop_threads", "set_default_device", "classes", "load_library",
    "onnx", "export", "profiler", "operator", "functools", "attrgetter", "methodcaller",
})
# Frame, code and traceback objects lead back to real globals (``gen.gi_frame.f_back.f_globals``).
INTROSPECTION = re.compile(r"^(f|gi|co|cr|ag|tb|func)_")
FORBIDDEN_NODES: dict[type, str] = {
    ast.ClassDef: "class definitions are not allowed (write plain functions)",
    ast.AsyncFunctionDef: "async functions are not allowed",
    ast.Await: "await is not allowed",
    ast.AsyncFor: "async for is not allowed",
    ast.AsyncWith: "async with is not allowed",
    ast.Yield: "generators (yield) are not allowed: return (reward, components)",
    ast.YieldFrom: "generators (yield from) are not allowed",
    ast.Global: "global statements are not allowed",
    ast.Nonlocal: "nonlocal statements are not allowed",
}
# What to write instead, appended to each rejection so the LLM can act on it.
WRITE_INSTEAD = {
    "import": "import only numpy, torch and math (e.g. `import numpy as np`, "
              "`import torch.nn.functional as F`)",
    "attribute": "compute the reward from the `state` arrays with numpy, torch or math "
                 "functions; reward code cannot reach files, processes, other modules, or "
                 "attributes by name",
    "name": "use arithmetic, numpy/torch/math functions and the builtins "
            f"{', '.join(n for n in SAFE_BUILTINS if n[0].islower())}",
}

CODE_BLOCK = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)


class RewardRejected(ValueError):
    """A candidate broke a sandbox rule or failed at run time; ``reason`` goes back to the LLM.

    ``rule`` is a short machine-readable tag (format, syntax, import, attribute, name, node,
    signature, timeout, runtime, output) for statistics and tests.
    """

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


class RewardTimeout(BaseException):
    """Raised inside the candidate by the alarm handler.

    A BaseException, so a candidate's ``except Exception`` cannot swallow it and keep looping
    (``BaseException`` and bare ``except:`` are not allowed in reward code).
    """


class Refused(BaseException):
    """Raised inside the candidate by the guarded attribute read or import (gate 3).

    A BaseException for the same reason as :class:`RewardTimeout`: the refusal must reach the
    LLM, not be caught and worked around.
    """

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def _rule_message(rule: str, message: str) -> str:
    """``message`` plus what to write instead, for the rules that have such advice."""
    advice = WRITE_INSTEAD.get(rule)
    return f"{message}; {advice}" if advice else message


# --- gate 1: the reply format ---------------------------------------------------------------------


def extract_code(reply: str) -> str:
    """The reward code in an LLM reply: the ```python block defining ``compute_reward``.

    Eureka's prompt asks for one fenced block; models add prose and sometimes several blocks, so
    prefer a block that defines the function, then any python block, then bare code.
    """
    blocks = [(lang.lower(), body) for lang, body in CODE_BLOCK.findall(reply)]
    python = [body for lang, body in blocks if lang in ("python", "py", "python3", "")]
    for body in python:
        if f"def {FUNCTION_NAME}" in body:
            return body.strip("\n")
    if python:
        return python[0].strip("\n")
    stripped = reply.strip()
    if not blocks and re.match(r"^(import |from |def )", stripped):
        return stripped
    raise RewardRejected(
        "format",
        "the reply has no ```python code block. Reply with exactly one ```python block that "
        f"defines {FUNCTION_NAME}(state) and returns (reward, {{component_name: array}}).",
    )


# --- gate 2: the static allowlist ----------------------------------------------------------------


def _bound_names(tree: ast.AST) -> set[str]:
    """Names the code itself binds (assignments, arguments, functions, imports, loop targets)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _check_import(node: ast.Import | ast.ImportFrom) -> str | None:
    if isinstance(node, ast.ImportFrom):
        if node.level:
            return "relative imports are not allowed"
        modules = [node.module or ""]
        for alias in node.names:
            if alias.name == "*":
                return f"'from {node.module} import *' is not allowed; import the names you use"
            if alias.name.startswith("_") or alias.name in DENIED_ATTRIBUTES:
                return f"importing {alias.name!r} from {node.module!r} is not allowed"
    else:
        modules = [alias.name for alias in node.names]
    for module in modules:
        parts = module.split(".")
        if parts[0] not in ALLOWED_MODULES:
            return f"import of {module!r} is not allowed (only {', '.join(ALLOWED_MODULES)})"
        bad = [p for p in parts[1:] if p.startswith("_") or p in DENIED_ATTRIBUTES]
        if bad:
            return f"import of {module!r} is not allowed ({bad[0]!r} is off limits)"
        if module not in ALLOWED_SUBMODULES:
            return (f"import of {module!r} is not allowed (modules reward code may use: "
                    f"{', '.join(sorted(ALLOWED_SUBMODULES))})")
    return None


def _check_attribute(node: ast.Attribute) -> str | None:
    if node.attr.startswith("_"):
        kind = "dunder" if node.attr.startswith("__") else "private"
        return f"access to the {kind} attribute '.{node.attr}' is not allowed"
    if node.attr in DENIED_ATTRIBUTES or INTROSPECTION.match(node.attr):
        return f"the attribute '.{node.attr}' is not allowed in reward code"
    return None


def _check_name(node: ast.Name, bound: set[str]) -> str | None:
    if node.id.startswith("__"):
        return f"the name {node.id!r} is not allowed"
    unsafe = node.id not in bound and node.id not in SAFE_BUILTINS and hasattr(builtins, node.id)
    if isinstance(node.ctx, ast.Load) and unsafe:
        return f"the builtin {node.id!r} is not allowed in reward code"
    return None


def _violation(node: ast.AST, bound: set[str]) -> tuple[str, str] | None:
    """(rule, message) for the first rule ``node`` breaks, or None."""
    if type(node) in FORBIDDEN_NODES:
        return "node", FORBIDDEN_NODES[type(node)]
    if isinstance(node, ast.ExceptHandler) and node.type is None:
        return "node", "a bare 'except:' is not allowed; catch specific exceptions"
    if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
        return "node", (f"assigning to or deleting an attribute ('.{node.attr} = ...') is not "
                        "allowed; keep values in local variables")
    found: tuple[str, str | None] = ("", None)
    if isinstance(node, ast.Import | ast.ImportFrom):
        found = "import", _check_import(node)
    elif isinstance(node, ast.Attribute):
        found = "attribute", _check_attribute(node)
    elif isinstance(node, ast.Name):
        found = "name", _check_name(node, bound)
    elif isinstance(node, ast.FunctionDef | ast.arg):
        name = node.name if isinstance(node, ast.FunctionDef) else node.arg
        if name.startswith("__"):
            found = "name", f"the name {name!r} is not allowed"
    rule, message = found
    return (rule, _rule_message(rule, message)) if message else None


def check_source(code: str) -> ast.Module:
    """Parse ``code`` and enforce the allowlist; returns the tree or raises :class:`RewardRejected`."""
    try:
        tree = ast.parse(code, filename=FILENAME)
    except SyntaxError as exc:
        raise RewardRejected("syntax", f"line {exc.lineno}: syntax error: {exc.msg}") from None
    bound = _bound_names(tree)
    for node in ast.walk(tree):
        found = _violation(node, bound)
        if found:
            rule, message = found
            raise RewardRejected(rule, f"line {getattr(node, 'lineno', '?')}: {message}")
    _check_signature(tree)
    return tree


def _check_signature(tree: ast.Module) -> None:
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    if FUNCTION_NAME not in functions:
        defined = f" (it defines: {', '.join(functions)})" if functions else ""
        raise RewardRejected(
            "signature", f"the code must define a top-level function {FUNCTION_NAME}(state){defined}"
        )
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == FUNCTION_NAME)
    required = len(fn.args.posonlyargs) + len(fn.args.args) - len(fn.args.defaults)
    if required > 1 or (required == 0 and not (fn.args.args or fn.args.vararg)):
        raise RewardRejected(
            "signature",
            f"line {fn.lineno}: {FUNCTION_NAME} must take exactly one argument, the state dict",
        )


# --- gate 3: guarded attribute reads and imports ------------------------------------------------

GUARD = "__reward_attribute__"  # what attribute reads call; reward code cannot name a dunder


def refused_value(value: Any) -> str | None:
    """Why reward code may not hold ``value``, or None: modules and callables outside the allowlist.

    Values are judged, not names: ``torch.functional.operator`` *is* the ``operator`` module,
    and ``attrgetter("os")`` is a callable of that module, whatever the code called them.
    """
    if isinstance(value, ModuleType):
        if value.__name__ in ALLOWED_SUBMODULES:
            return None
        return f"is the module '{value.__name__}', which reward code may not use"
    if not callable(value):
        return None
    module = getattr(value, "__module__", None)
    if not isinstance(module, str) or module.split(".")[0] in ALLOWED_MODULES:
        return None  # bound methods of arrays, tensors, dicts carry no module
    if module == "builtins" and id(value) in _SAFE_BUILTIN_IDS:
        return None
    name = getattr(value, "__qualname__", type(value).__qualname__)
    return f"is {module}.{name}, which reward code may not call"


def checked_attribute(obj: Any, name: str) -> Any:
    """``obj.name`` for reward code: the value unless :func:`refused_value` refuses it."""
    value = getattr(obj, name)
    why = refused_value(value)
    if why:
        owner = obj.__name__ if isinstance(obj, ModuleType) else type(obj).__name__
        raise Refused("attribute", _rule_message("attribute", f"'{owner}.{name}' {why}"))
    return value


class _GuardAttributes(ast.NodeTransformer):
    """Rewrite every attribute read ``x.name`` into ``__reward_attribute__(x, "name")``."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load):
            return node  # gate 2 rejects attribute stores
        call = ast.Call(ast.Name(GUARD, ast.Load()), [node.value, ast.Constant(node.attr)], [])
        return ast.copy_location(call, node)


def guard_attributes(tree: ast.Module) -> ast.Module:
    return ast.fix_missing_locations(_GuardAttributes().visit(tree))


def _guarded_import(name: str, globals: Any = None, locals: Any = None,
                    fromlist: Any = (), level: int = 0) -> Any:
    """``__import__`` for the sandbox: allowlisted modules only, and no refused name from them."""
    if level or name not in ALLOWED_SUBMODULES:
        raise Refused("import", _rule_message("import", f"import of {name!r} is not allowed"))
    module = __import__(name, globals, locals, fromlist, level)
    for item in fromlist or ():
        why = refused_value(getattr(module, item, None))
        if why:
            raise Refused("import", _rule_message("import", f"'{name}.{item}' {why}"))
    return module


def _noop_print(*args: Any, **kwargs: Any) -> None:
    """Candidates may leave debug prints; they must not flood the worker's output."""


def sandbox_builtins() -> dict[str, Any]:
    return {**SAFE_BUILTINS, "__import__": _guarded_import, "print": _noop_print}


# --- time limits ------------------------------------------------------------------------------

_hard_cpu_s_per_s = 0.0  # > 0 in a worker: see enable_hard_time_limits


def enable_hard_time_limits(threads: int = 1) -> None:
    """In a worker process only: a call stuck in C code past its limit ends the whole process.

    SIGPROF gets its default action (terminate), and :func:`time_limit` arms ITIMER_PROF, which
    counts the process's CPU time, at ``threads`` x (limit + HARD_GRACE_S): a call computing in
    C on ``threads`` threads is stopped by the kernel, where no Python handler can run.
    """
    global _hard_cpu_s_per_s
    signal.signal(signal.SIGPROF, signal.SIG_DFL)
    _hard_cpu_s_per_s = float(max(1, threads))


@contextmanager
def _hard_limit(seconds: float) -> Iterator[None]:
    if not _hard_cpu_s_per_s:
        yield
        return
    signal.setitimer(signal.ITIMER_PROF, _hard_cpu_s_per_s * (seconds + HARD_GRACE_S))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


@contextmanager
def _soft_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise :class:`RewardTimeout` at the next bytecode after ``seconds`` of wall time.

    Uses SIGALRM, so it only works in the main thread (where training workers run the reward);
    elsewhere it is a no-op. An outer ITIMER_REAL (pytest-timeout's, say) is saved and restored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise RewardTimeout(f"{what} did not finish within {seconds:g} s (infinite loop?)")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    outer_left, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:
            left = outer_left - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))


@contextmanager
def time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """``what`` may run ``seconds``: a Python loop past it is reported with its line, and in a
    worker a call stuck in C code is ended by the kernel (see the module docstring)."""
    if not seconds:
        yield
        return
    with _hard_limit(seconds), _soft_limit(seconds, what):
        yield


def _candidate_line(exc: BaseException) -> str:
    """'line N: ' of the innermost frame inside the candidate's code, if any."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == FILENAME]
    return f"line {frames[-1].lineno}: " if frames else ""


class StateView(dict):
    """The state as the candidate sees it: a missing field names the fields that exist."""

    def __missing__(self, key: Any) -> Any:
        raise KeyError(f"state has no field {key!r}; fields: {', '.join(sorted(self))}")


def _compile(code: str, language_checks: bool) -> tuple[Any, dict[str, Any]]:
    """The code object and the globals it runs in.

    ``language_checks=False`` is a test hook: the raw code with the real builtins, so that tests
    can show the OS boundary of a confined worker holds with no language rule in front of it.
    """
    if not language_checks:
        tree = ast.parse(code, filename=FILENAME)
        return compile(tree, FILENAME, "exec"), {"__builtins__": builtins, "__name__": "reward"}
    tree = guard_attributes(check_source(code))
    namespace = {"__builtins__": sandbox_builtins(), "__name__": "reward", GUARD: checked_attribute}
    return compile(tree, FILENAME, "exec"), namespace


class SandboxedReward:
    """A vetted reward: call it with a state; returns normalised (reward[N], {name: [N]}).

    Every failure is a :class:`RewardRejected` whose reason points at the candidate's line.
    ``calls`` counts successful calls (so the first-call limit applies once).
    """

    def __init__(self, code: str, call_timeout_s: float = CALL_TIMEOUT_S,
                 first_call_timeout_s: float = FIRST_CALL_TIMEOUT_S,
                 slow_call_s: float = SLOW_CALL_S, language_checks: bool = True) -> None:
        compiled, namespace = _compile(code, language_checks)
        self.code = code
        self.call_timeout_s = call_timeout_s
        self.first_call_timeout_s = first_call_timeout_s
        self.slow_call_s = slow_call_s
        self.calls = 0
        self.seconds = 0.0  # time spent in calls after the first (the first may warm caches)
        self._run("the module body", lambda: exec(compiled, namespace), first_call_timeout_s)  # noqa: S102
        if not callable(namespace.get(FUNCTION_NAME)):
            raise RewardRejected("signature", f"the code must define {FUNCTION_NAME}(state)")
        self.fn = namespace[FUNCTION_NAME]

    def _run(self, what: str, thunk: Any, timeout: float | None) -> Any:
        try:
            with time_limit(timeout, what):
                return thunk()
        except RewardTimeout as exc:
            raise RewardRejected("timeout", f"{_candidate_line(exc)}{exc}") from None
        except Refused as exc:
            raise RewardRejected(exc.rule, f"{_candidate_line(exc)}{exc}") from None
        except RewardShapeError as exc:
            raise RewardRejected("output", f"{what}: {exc}") from None
        except RewardRejected:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the candidate raises is its failure
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise RewardRejected(
                "runtime", f"{_candidate_line(exc)}{type(exc).__name__}: {message} (in {what})"
            ) from None

    def __call__(self, state: State) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        n = len(next(iter(state.values()))) if state else 0
        first = self.calls == 0
        timeout = self.first_call_timeout_s if first else self.call_timeout_s
        what = f"{FUNCTION_NAME} (call {self.calls + 1})"
        start = time.perf_counter()
        with np.errstate(all="ignore"):  # NaN/inf are caught on the output with a clear message
            out = self._run(what, lambda: self.fn(StateView(state)), timeout)
        if not first:
            self._check_speed(time.perf_counter() - start, n)
        self._check_finite(out, what)
        try:
            result = call_reward(lambda _: out, state, n)
        except RewardShapeError as exc:
            raise RewardRejected("output", f"{what}: {exc}") from None
        except (TypeError, ValueError) as exc:  # a string, None or a ragged list as a value
            raise RewardRejected(
                "output", f"{what} returned a value that is not a number array ({exc}); return "
                "(reward, {component_name: array}) with float arrays of shape [N]") from None
        self.calls += 1
        return result

    def _check_speed(self, seconds: float, n: int) -> None:
        self.seconds += seconds
        timed = self.calls  # calls after the first, this one included
        if timed >= SLOW_AFTER_CALLS and self.seconds / timed > self.slow_call_s:
            raise RewardRejected(
                "timeout", f"{FUNCTION_NAME} is too slow: {1000 * self.seconds / timed:.0f} ms per "
                f"call for {n} environments (limit {1000 * self.slow_call_s:.0f} ms). Use "
                "vectorised numpy over the batch instead of Python loops over environments.")

    @staticmethod
    def _check_finite(out: Any, what: str) -> None:
        """Name the outputs that hold NaN or inf (call_reward only says that one does)."""
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
            return  # call_reward reports the wrong structure
        named = {"reward": out[0], **{f"component {k!r}": v for k, v in out[1].items()}}
        problems = []
        for name, value in named.items():
            if value is None or isinstance(value, str | bytes):
                raise RewardRejected("output", f"{what}: {name} is {type(value).__name__}, not a "
                                     "number array; return float arrays of shape [N]")
            try:
                arr = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value,
                                 dtype=np.float64)
            except (TypeError, ValueError):
                continue  # not numeric: call_reward reports it
            nan, inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
            if nan or inf:
                kinds = " and ".join(k for k, c in (("NaN", nan), ("inf", inf)) if c)
                problems.append(f"{name} has {kinds} ({nan + inf} of {arr.size} values)")
        if problems:
            raise RewardRejected("output", f"{what} returned non-finite values: {'; '.join(problems)}"
                                 ". Guard divisions, logs and square roots (e.g. np.clip, + 1e-8).")


def load_reward(text: str, **limits: float) -> SandboxedReward:
    """From an LLM reply or a plain source file to a callable reward (raises RewardRejected)."""
    return SandboxedReward(extract_code(text), **limits)


def read_reward_file(path: Path | str) -> str:
    """``--reward FILE.py``: the file's code once it passes gates 1-2, which run no code.

    The code itself runs only in a confined worker (:mod:`lifelong.robotics.pool`).
    """
    path = Path(path)
    try:
        code = path.read_text()
    except OSError as exc:
        raise RewardRejected("format", f"cannot read reward file {path}: {exc.strerror}") from None
    try:
        check_source(code)
    except RewardRejected as exc:
        raise RewardRejected(exc.rule, f"{path}: {exc.reason}") from None
    return code


def load_reward_file(path: Path | str, **limits: float) -> SandboxedReward:
    """A reward file as a callable *in this process* (tests, benchmarks): trusted callers only."""
    code = read_reward_file(path)
    try:
        return SandboxedReward(code, **limits)
    except RewardRejected as exc:
        raise RewardRejected(exc.rule, f"{path}: {exc.reason}") from None


def probe(reward: SandboxedReward, state: State) -> dict[str, Any]:
    """Call a fresh reward once on ``state`` (the first call, under the first-call limit).

    Returns a summary (component names and the reward's scale) for logs; raises RewardRejected.
    """
    value, components = reward(state)
    return {"components": sorted(components), "reward_mean": float(np.mean(value)),
            "reward_abs_max": float(np.max(np.abs(value))) if len(value) else 0.0,
            "finite": bool(math.isfinite(float(np.sum(value))))}
