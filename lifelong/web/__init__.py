"""`lifelong serve`: browse the skill library and the runs in a web page.

Server-rendered pages (FastAPI + Jinja2, charts drawn with matplotlib as SVG, code highlighted
with Pygments) and a JSON API under ``/api``; every asset ships in this package, so it works
offline. Read-only unless started with ``--allow-write``. See :mod:`lifelong.web.app`.
"""

from lifelong.web.app import create_app
from lifelong.web.site import ServeConfig

__all__ = ["ServeConfig", "create_app"]
