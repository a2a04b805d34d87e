"""The Minecraft body's limits, defined once, here.

Python hands each value to the JS bot in the options it already passes (``MinecraftEnv.step``'s
run options, ``MinecraftEnv.start_viewer``'s port), so the two sides cannot disagree. The JS keeps
a fallback only where it runs standalone, without Python: ``runProgram``'s stuck limit in
``bridges/bot/runner.js``, for the Node tests that call it directly; each fallback says so.

Times are game seconds: at time scale K they pass K times faster on the wall (README, "Faster than
real time").
"""

from __future__ import annotations

PROGRAM_TIMEOUT_S = 180.0
"""How long one program (one step of a loop, or ``run-program``) may run before the runner stops it
and the bot: the README's "180 s a step", what exploration and solve have always used."""

STUCK_S = 20.0
"""How long the bot may try to move (pathfinder or controls) without getting 1.5 blocks further
before the stuck detector stops the program: long enough for a pathfinder detour, short enough
that a bot walled in does not spend its step."""

VIEWER_PORT = 3007
"""The ``--viewer`` page (prismarine-viewer) on http://localhost:VIEWER_PORT."""
