"""Ray clusters: turn ``--ray ADDRESS`` into a connected driver, or into a clear error, fast.

Every command that spreads work over machines (``train-robot --ray``, ``explore --workers``)
connects through :func:`connect`, so the address rules and the failure messages are the same
everywhere:

* ``ADDRESS`` is the head's GCS address, ``HOST:PORT`` (``ray start --head`` prints it; the port
  defaults to 6379), or ``auto``: ``$RAY_ADDRESS``, else the cluster that ``ray start`` last
  started on this machine (Ray records it in ``<ray temp dir>/ray_current_cluster``).
* Before Ray is even imported, a plain TCP connect to the head (:func:`check_reachable`) tells a
  wrong address or a stopped head apart in milliseconds; ``ray.init`` alone would retry for a
  minute. Then ``ray.init`` runs in a helper thread with a deadline, so a port that answers but
  is not a Ray head cannot hang the command either. Either way the error says how to start a head.
* ``ray.init`` in a helper thread also leaves the command's own SIGTERM handler in place (Ray
  installs its own when it is called from the main thread).

Ray is imported lazily: a command that runs locally never pays for it.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DEFAULT_PORT = 6379
REACH_TIMEOUT_S = 5.0      # the TCP check: a head on a LAN answers in milliseconds
CONNECT_TIMEOUT_S = 20.0   # ray.init after the check; both together stay under 30 s
START_HINT = ("Start a head with `ray start --head --port=6379` (and `ray start --address=HEAD:6379` "
              "on every other machine), then pass --ray HEAD:6379 or --ray auto; or leave out "
              "--ray to run in local processes.")


class ClusterError(RuntimeError):
    """A problem with the Ray cluster, worded so the user knows what to fix."""


class ClusterUnreachable(ClusterError):
    """No Ray cluster answers at the address: says which address and how to start one."""


def _current_cluster_file() -> Path:
    """Where ``ray start`` records its cluster's address (Ray's own rule for its temp folder:
    $RAY_TMPDIR, else $TMPDIR on Linux, else /tmp; then ``ray/ray_current_cluster``)."""
    base = os.environ.get("RAY_TMPDIR") or (os.environ.get("TMPDIR") if sys.platform == "linux" else None)
    base = base or ("/tmp" if os.name == "posix" else tempfile.gettempdir())
    return Path(base) / "ray" / "ray_current_cluster"


def _auto_address() -> str:
    """``auto``: $RAY_ADDRESS, else the cluster ``ray start`` last started on this machine."""
    found = os.environ.get("RAY_ADDRESS", "").strip()
    if found and found != "auto":
        return found
    current = _current_cluster_file()
    found = current.read_text().strip() if current.exists() else ""
    if not found:
        raise ClusterUnreachable(
            "Ray address auto found no cluster: $RAY_ADDRESS is unset and `ray start` has not "
            f"started one on this machine ({current} is missing). {START_HINT}")
    return found


def resolve_address(address: str) -> str:
    """``HOST:PORT`` for ``address`` (``auto``, ``HOST`` or ``HOST:PORT``).

    ``auto`` follows Ray's own order: ``$RAY_ADDRESS``, then the cluster ``ray start`` last
    started on this machine.
    """
    address = address.strip()
    if address.startswith("ray://"):
        raise ClusterUnreachable(f"Ray address {address}: Ray Client addresses (ray://) are not supported; "
                                 f"give the head's GCS address HOST:{DEFAULT_PORT} instead. {START_HINT}")
    if address == "auto":
        address = _auto_address()
    host, _, port = address.rpartition(":") if ":" in address else (address, "", str(DEFAULT_PORT))
    if not host or not port.isdigit():
        raise ClusterUnreachable(f"Ray address {address!r} is not an address: give HOST:PORT "
                                 f"(e.g. 10.0.0.5:{DEFAULT_PORT}) or auto. {START_HINT}")
    return f"{host}:{port}"


def check_reachable(address: str, timeout_s: float = REACH_TIMEOUT_S) -> None:
    """Raise :class:`ClusterUnreachable` unless something accepts TCP connections at ``address``."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            return
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ClusterUnreachable(f"no Ray cluster answers at {address} ({why}). {START_HINT}") from None


def is_connected() -> bool:
    """Whether this process is a Ray driver already (without importing Ray for nothing)."""
    ray = sys.modules.get("ray")
    return bool(ray is not None and ray.is_initialized())


def connect(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> str:
    """Make this process a driver of the cluster at ``address``; returns ``HOST:PORT``.

    Idempotent: a process that is connected already keeps its connection (a test, or a notebook,
    may have called ``ray.init`` itself).
    """
    resolved = resolve_address(address)
    if is_connected():
        return resolved
    check_reachable(resolved)
    import ray

    outcome: dict[str, Any] = {}

    def init() -> None:
        try:
            outcome["context"] = ray.init(address=resolved, log_to_driver=False,
                                          logging_level=logging.WARNING, configure_logging=False)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc

    logging.getLogger("ray._private.worker").setLevel(logging.ERROR)  # "SIGTERM handler not set"
    start = time.monotonic()
    thread = threading.Thread(target=init, name="ray-connect", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise ClusterUnreachable(f"{resolved} accepts connections but no Ray head answered within "
                                 f"{timeout_s:g} s (is it a Ray head's GCS port?). {START_HINT}")
    if "error" in outcome:
        raise ClusterUnreachable(f"could not join the Ray cluster at {resolved} after "
                                 f"{time.monotonic() - start:.1f} s: {outcome['error']}. {START_HINT}")
    return resolved


def node_id() -> str | None:
    """The Ray node this code runs on (in a task or a driver), or None outside Ray."""
    if not is_connected():
        return None
    import ray

    return ray.get_runtime_context().get_node_id()


def shutdown() -> None:
    """Leave the cluster (the cluster itself keeps running); a no-op when not connected."""
    if is_connected():
        import ray

        ray.shutdown()
