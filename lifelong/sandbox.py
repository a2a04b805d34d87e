"""OS confinement for untrusted code: the boundary that holds when the static checks are bypassed.

LLM-written programs and rewards, and those in shared skill libraries, are hostile input. The
language-level checks (``robotics/reward.py``'s AST rules, SES in ``bridges/bot/runner.js``) give
the LLM friendly reasons, but any check that reads code can be outwitted. This module is the
layer below: :func:`confine` applies a :class:`Policy` to the calling process with what the
Linux kernel itself enforces, so even code that escaped every language rule cannot act outside it.

Layers, all irreversible and inherited by threads created later and across ``execve``:

- **rlimits**: a memory cap (``RLIMIT_DATA``: private writable memory, so large *reservations*
  such as V8's pointer cage or torch's arenas don't count, but every page written does), a CPU
  cap (``RLIMIT_CPU``: the kernel sends SIGXCPU, then SIGKILL, which also stops a long call
  inside numpy's C code), a file-size cap (``RLIMIT_FSIZE``) and no core dumps.
- **capabilities**: all dropped, bounding set included, so a worker started as root (CI) is
  not root any more in what it may do.
- **Landlock** (``landlock(7)``): the filesystem (read-only trees, read-write trees, and which
  files may be executed), TCP (``bind``/``connect`` only to listed ports, ABI >= 4) and scope
  (no signals to, and no abstract UNIX sockets of, processes outside the sandbox, ABI >= 6).
- **seccomp** (through ``pyseccomp`` over libseccomp): no new processes (``fork``, ``vfork``,
  ``clone`` without ``CLONE_THREAD``; ``clone3`` answers ENOSYS so glibc's threads fall back to
  ``clone``), no ``execve`` unless the policy lists executables, no sockets but those the policy
  allows, and none of the calls that reach other processes or the kernel's configuration
  (ptrace, namespaces, mount, bpf, modules, keyrings, raising rlimits, chmod/chown).

Why Landlock by hand instead of the ``landlock`` package on PyPI: its 1.0.0.dev5 release only
knows the filesystem rights; TCP ports (ABI 4) and signal scoping (ABI 6) are what keep a
confined process from reaching the network or killing its parent. The three syscalls and two
structs are below; seccomp, which has a well-kept binding, goes through it.

Run a command confined: ``python -m lifelong.sandbox --policy JSON -- ARGV...`` (see
:func:`exec_argv`), which is how the bot's Node process starts.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import shutil
import signal
import site
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

UNSAFE_ENV = "LIFELONG_UNSAFE_NO_SANDBOX"


class SandboxUnavailable(RuntimeError):
    """The kernel cannot enforce a policy (not Linux, or Landlock/seccomp missing)."""


class Policy(BaseModel):
    """What a confined process may still do; everything else is denied by the kernel.

    Paths that don't exist are skipped. ``execute`` lists files that ``execve`` may start
    (none: no ``execve`` at all). ``network`` allows TCP (and, with ``udp``, UDP for DNS)
    sockets, whose TCP ``connect``/``bind`` Landlock then limits to the listed ports; without
    it no socket can be created at all.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    read: tuple[Path, ...] = ()
    write: tuple[Path, ...] = ()
    execute: tuple[Path, ...] = ()
    network: bool = False
    udp: bool = False
    connect_tcp: tuple[int, ...] = ()
    bind_tcp: tuple[int, ...] = ()
    memory_mb: int | None = None
    cpu_s: int | None = None
    file_mb: int | None = 64


# --- rlimits and capabilities ---------------------------------------------------------------------


def _set_limits(policy: Policy) -> None:
    """Soft and hard limits alike, so the process cannot raise them back."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if policy.memory_mb is not None:
        cap = policy.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    if policy.cpu_s is not None:
        # SIGXCPU at the soft limit (default action: terminate), SIGKILL one second later.
        resource.setrlimit(resource.RLIMIT_CPU, (policy.cpu_s, policy.cpu_s + 1))
    if policy.file_mb is not None:
        cap = policy.file_mb * 2**20
        # Past the cap a write fails with EFBIG (an exception) instead of a silent SIGXFSZ kill.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
_CAP_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _drop_capabilities() -> None:
    """Empty the bounding set (so no execve regains a capability), then every set we hold."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the last capability this kernel knows
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), data), "capset")


# --- Landlock -------------------------------------------------------------------------------------

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_TRUNCATE, FS_REFER = 1 << 14, 1 << 13
FS_DIR_WRITE = sum(1 << bit for bit in range(4, 13))  # remove, make char/dir/reg/sock/fifo/block/sym
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
_O_PATH = getattr(os, "O_PATH", 0o10000000)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel's struct is __attribute__((packed))
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing or disabled."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _libc.syscall(_SYS_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    return max(0, version)


def _fs_rights(abi: int) -> int:
    rights = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_READ_DIR | FS_DIR_WRITE
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    return rights


def _add_path(ruleset: int, path: Path, access: int) -> None:
    try:
        fd = os.open(path, _O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path that doesn't exist grants nothing
    try:
        if not os.path.isdir(path):  # rules on files take file rights only
            access &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE
        rule = _PathBeneathAttr(access, fd)
        _check(_libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0),
               f"landlock rule for {path}")
    finally:
        os.close(fd)


def _add_port(ruleset: int, port: int, access: int) -> None:
    rule = _NetPortAttr(access, port)
    _check(_libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_NET_PORT, ctypes.byref(rule), 0),
           f"landlock rule for TCP port {port}")


def _landlock(policy: Policy, abi: int) -> None:
    handled = _fs_rights(abi)
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _check(_libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), size, 0),
                     "landlock_create_ruleset")
    try:
        read = FS_READ_FILE | FS_READ_DIR
        for path in policy.read:
            _add_path(ruleset, path, read)
        for path in policy.write:
            _add_path(ruleset, path, handled & ~FS_EXECUTE)
        for path in policy.execute:
            _add_path(ruleset, path, FS_READ_FILE | FS_EXECUTE)
        for port in policy.connect_tcp if abi >= 4 else ():
            _add_port(ruleset, port, NET_CONNECT_TCP)
        for port in policy.bind_tcp if abi >= 4 else ():
            _add_port(ruleset, port, NET_BIND_TCP)
        _check(_libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)


# --- seccomp --------------------------------------------------------------------------------------

CLONE_THREAD = 0x00010000
AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
SOCK_STREAM, SOCK_DGRAM, SOCK_TYPE_MASK = 1, 2, 0xF
# Calls no confined program needs, each of which reaches beyond the process.
DENIED_SYSCALLS = (
    "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount", "fsopen",
    "fsmount", "open_tree", "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key",
    "request_key", "init_module", "finit_module", "delete_module", "kexec_load", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "open_by_handle_at", "name_to_handle_at",
    "io_uring_setup", "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat",
    "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "settimeofday", "clock_settime", "adjtimex", "sethostname", "setdomainname", "syslog",
)
LIMITED_RESOURCES = (resource.RLIMIT_CPU, resource.RLIMIT_DATA, resource.RLIMIT_AS,
                     resource.RLIMIT_FSIZE, resource.RLIMIT_CORE, resource.RLIMIT_NPROC)


def _seccomp(policy: Policy) -> None:
    import pyseccomp as sc

    deny = sc.ERRNO(errno.EPERM)
    f = sc.SyscallFilter(defaction=sc.ALLOW)
    for name in DENIED_SYSCALLS:
        _rule(f, deny, name)
    # New processes: only threads (clone with CLONE_THREAD); clone3 can't be filtered by flags.
    f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    if not policy.execute:
        f.add_rule(deny, "execve")
        f.add_rule(deny, "execveat")
    for res in LIMITED_RESOURCES:  # lowering is harmless, but raising a cap must fail
        f.add_rule(deny, "prlimit64", sc.Arg(1, sc.EQ, res), sc.Arg(2, sc.NE, 0))
        f.add_rule(deny, "setrlimit", sc.Arg(0, sc.EQ, res))
    f.add_rule(deny, "prlimit64", sc.Arg(0, sc.NE, 0), sc.Arg(2, sc.NE, 0))  # other processes
    _socket_rules(f, deny, policy)
    f.load()


def _rule(f: object, action: int, name: str) -> None:
    try:
        f.add_rule(action, name)  # type: ignore[attr-defined]
    except (OSError, RuntimeError, ValueError):
        pass  # a call this architecture doesn't have


def _socket_rules(f: object, deny: int, policy: Policy) -> None:
    """Without ``network`` no socket at all; with it, TCP (and UDP if asked) over IP only."""
    import pyseccomp as sc

    add = f.add_rule  # type: ignore[attr-defined]
    if not policy.network:
        add(deny, "socket")
        return
    for family in (0, AF_UNIX, *range(3, 10)):  # everything below AF_INET6 but AF_INET
        if family != AF_INET:
            add(deny, "socket", sc.Arg(0, sc.EQ, family))
    add(deny, "socket", sc.Arg(0, sc.GT, AF_INET6))
    for family in (AF_INET, AF_INET6):
        for kind in range(SOCK_TYPE_MASK + 1):
            if kind == SOCK_STREAM or (kind == SOCK_DGRAM and policy.udp):
                continue
            add(deny, "socket", sc.Arg(0, sc.EQ, family), sc.Arg(1, sc.MASKED_EQ, SOCK_TYPE_MASK, kind))


# --- the public entry points ----------------------------------------------------------------------


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def unsafe() -> bool:
    """The user switched confinement off (``LIFELONG_UNSAFE_NO_SANDBOX=1``), at their own risk."""
    return os.environ.get(UNSAFE_ENV, "") not in ("", "0")


def available() -> str | None:
    """None when this machine can confine; otherwise why not, and what to do."""
    if not sys.platform.startswith("linux"):
        return f"untrusted code runs only on Linux, which confines it (this is {sys.platform})"
    abi = landlock_abi()
    if abi < 4:
        return (f"this Linux kernel has {'no' if abi == 0 else f'Landlock ABI {abi}, not 4+'} "
                "Landlock, which confines untrusted code (Linux 6.7 or newer, with landlock "
                "in the boot's lsm= list)")
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"seccomp is unavailable ({exc}); install libseccomp2"
    return None


def confine(policy: Policy) -> None:
    """Apply ``policy`` to this process, irreversibly.

    Call it while the process has one thread: Landlock restricts the calling thread and the
    threads and processes it starts later, not threads that already run.
    """
    if unsafe():
        return
    why = available()
    if why:
        raise SandboxUnavailable(
            f"cannot run untrusted code here: {why}. To run it unconfined anyway, at your own "
            f"risk, set {UNSAFE_ENV}=1.")
    if _threads() > 1:
        raise SandboxUnavailable(
            f"confine() called with {_threads()} threads running; call it before starting any")
    _set_limits(policy)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _landlock(policy, landlock_abi())
    _drop_capabilities()
    _seccomp(policy)


def _existing(paths: Iterable[str | Path]) -> list[Path]:
    seen: dict[Path, None] = {}
    for p in paths:
        if p and Path(p).exists():
            seen.setdefault(Path(p).resolve(), None)
    return list(seen)


SYSTEM_READS = (
    "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo", "/etc/ld.so.cache",
    "/etc/localtime", "/dev/urandom", "/dev/random", "/proc/self", "/proc/cpuinfo",
    "/proc/meminfo", "/proc/stat", "/sys/devices/system/cpu", "/sys/fs/cgroup",
    # name resolution and TLS settings, read by Node at start and by getaddrinfo
    "/etc/ssl", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
    "/etc/resolv.conf",
)


def python_runtime_reads() -> list[Path]:
    """What a Python worker must read to keep importing: stdlib, site-packages, our package.

    Not ``sys.path`` wholesale: it holds the working folder, which may be the user's home.
    """
    import lifelong

    paths = [sysconfig.get_path(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    paths += site.getsitepackages() + [site.getusersitepackages()]
    paths += [sys.prefix, sys.base_prefix, os.path.dirname(sys.executable)]
    paths += [Path(lifelong.__file__).parent, *SYSTEM_READS]
    return _existing(paths)


def exec_argv(policy: Policy, argv: Sequence[str]) -> list[str]:
    """An argv that confines itself by ``policy``, then executes ``argv`` (which must be allowed)."""
    return [sys.executable, "-m", "lifelong.sandbox", "--policy", policy.model_dump_json(), "--",
            *argv]


def _interpreter(binary: Path) -> Path | None:
    """The ELF program interpreter (ld.so) of ``binary``: execve opens it for execution too."""
    try:
        data = binary.read_bytes()[:4096]
    except OSError:
        return None
    start = data.find(b"/lib")
    if data[:4] != b"\x7fELF" or start < 0:
        return None
    end = data.find(b"\0", start)
    return Path(data[start:end].decode(errors="replace"))


def main(argv: Sequence[str]) -> int:
    """``python -m lifelong.sandbox --policy JSON -- PROGRAM ARGS...``."""
    if len(argv) < 4 or argv[0] != "--policy" or argv[2] != "--":
        print("usage: python -m lifelong.sandbox --policy JSON -- PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    policy = Policy.model_validate(json.loads(argv[1]))
    program = shutil.which(argv[3])
    if program is None:
        print(f"lifelong.sandbox: {argv[3]!r} not found on PATH", file=sys.stderr)
        return 127
    binary = Path(program).resolve()
    loader = _interpreter(binary)
    extra = tuple(p for p in (binary, loader) if p is not None)
    confine(policy.model_copy(update={"execute": policy.execute + extra,
                                      "read": policy.read + extra}))
    os.execv(program, [argv[3], *argv[4:]])
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
