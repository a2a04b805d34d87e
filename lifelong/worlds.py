"""The registry of worlds: which skill kinds and LLM roles exist, and which world owns each.

The core (the library, its import/export, the settings) accepts the names registered here and
knows no world's words itself, so a new world is added without editing a core file: it calls
:func:`register_world` with its kinds (each with the suffix of its code file) and its LLM roles
(each with a default model).

The worlds shipped in this package register themselves in ``lifelong/<world>/registration.py``;
a world installed as another package names its registering module under the entry-point group
``lifelong.worlds``. Both are imported on demand, the first time a kind or role is looked up, so
code that never asks (``lifelong skills list``, reading records) imports no world at all.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

ENTRY_POINT_GROUP = "lifelong.worlds"
REGISTRATION_MODULE = "registration"
LANGUAGES = {".js": "javascript", ".py": "python"}
"""Fence language of a code suffix (Agent Skills' SKILL.md); other suffixes use the suffix itself."""
LANGUAGE_ALIASES = {"js": "javascript", "py": "python"}


class UnknownName(ValueError):
    """A kind or role that no world registered; the message lists those that exist."""


@dataclass(frozen=True)
class SkillKind:
    """A kind of skill: what its code is written in and which world runs it."""

    name: str
    world: str
    suffix: str

    @property
    def code_file(self) -> str:
        return "code" + self.suffix

    @property
    def language(self) -> str:
        return language_of(self.code_file)


def language_of(code_file: str) -> str:
    """The fence language of a code file (``code.js`` -> ``javascript``), from its suffix alone."""
    suffix = Path(code_file).suffix
    return LANGUAGES.get(suffix, suffix.lstrip("."))


@dataclass(frozen=True)
class World:
    """What one world registered."""

    name: str
    kinds: tuple[SkillKind, ...] = ()
    roles: Mapping[str, str] = field(default_factory=dict)
    import_formats: Mapping[str, str] = field(default_factory=dict)


_worlds: dict[str, World] = {}
_loaded = False
_lock = threading.RLock()


def register_world(name: str, kinds: Mapping[str, str], roles: Mapping[str, str] | Iterable[str] = (),
                   import_formats: Mapping[str, str] | None = None) -> World:
    """Register a world's skill kinds (``{kind: code suffix}``) and LLM roles.

    ``roles`` maps each role to its default model (a bare list of roles defaults to ``gpt-4o``).
    ``import_formats`` maps a format of ``lifelong skills import`` to the module that reads it
    (see :mod:`lifelong.library_io`); the module is imported only when an import needs it.
    Registering the same world again with the same names is a no-op (modules may be re-imported);
    a kind or role that another world owns with a different meaning is an error, since the library
    and the settings could then not tell which one a record means.
    """
    role_models = dict(roles) if isinstance(roles, Mapping) else {role: "gpt-4o" for role in roles}
    world = World(name, tuple(SkillKind(k, name, suffix) for k, suffix in kinds.items()), role_models,
                  dict(import_formats or {}))
    with _lock:
        others = [w for w in _worlds.values() if w.name != name]
        for k in world.kinds:
            owner = next((w.name for w in others if any(o.name == k.name for o in w.kinds)), None)
            if owner is not None:
                raise ValueError(f"skill kind {k.name!r} is already registered by world {owner!r}")
        for role, model in role_models.items():
            taken = next((w for w in others if w.roles.get(role, model) != model), None)
            if taken is not None:
                raise ValueError(f"LLM role {role!r} is already registered by world {taken.name!r} "
                                 f"with default model {taken.roles[role]!r}")
        _worlds[name] = world
    return world


def unregister_world(name: str) -> None:
    """Forget a world (a test's, or a plugin being unloaded); its skills stay readable."""
    with _lock:
        _worlds.pop(name, None)


def _kind_table() -> dict[str, SkillKind]:
    return {kind.name: kind for world in _worlds.values() for kind in world.kinds}


def _role_table() -> dict[str, str]:
    return {role: model for world in _worlds.values() for role, model in world.roles.items()}


def load_worlds() -> None:
    """Import every world's registration once: this package's, then the entry points'."""
    global _loaded
    with _lock:
        if _loaded:
            return
        _loaded = True
        package = Path(__file__).parent
        for folder in sorted(p for p in package.iterdir() if (p / f"{REGISTRATION_MODULE}.py").is_file()):
            importlib.import_module(f"{__package__}.{folder.name}.{REGISTRATION_MODULE}")
        for point in entry_points(group=ENTRY_POINT_GROUP):
            importlib.import_module(point.value)


def worlds() -> dict[str, World]:
    load_worlds()
    return dict(_worlds)


def kinds() -> dict[str, SkillKind]:
    """Every registered skill kind by name, in registration order."""
    load_worlds()
    return _kind_table()


def kind(name: str) -> SkillKind:
    """The kind called ``name``; UnknownName (naming the kinds there are) otherwise."""
    found = kinds().get(name)
    if found is None:
        raise UnknownName(f"unknown skill kind {name!r}; kinds are: {', '.join(kinds())}")
    return found


def kind_for_language(language: str) -> SkillKind | None:
    """The first registered kind whose code is in ``language`` (a fence tag such as ``js``)."""
    wanted = LANGUAGE_ALIASES.get(language.lower(), language.lower())
    return next((k for k in kinds().values() if k.language == wanted), None)


def import_formats() -> dict[str, str]:
    """Every import format a world registered, with the module that reads it."""
    load_worlds()
    return {fmt: module for world in _worlds.values() for fmt, module in world.import_formats.items()}


def roles() -> dict[str, str]:
    """Every registered LLM role with its default model."""
    load_worlds()
    return _role_table()


def check_role(role: str) -> str:
    """``role`` if some world registered it; UnknownName with the closest role otherwise."""
    known = roles()
    if role not in known:
        close = difflib.get_close_matches(role, list(known), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise UnknownName(f"unknown LLM role {role!r}; {hint}roles are: {', '.join(known)}")
    return role
