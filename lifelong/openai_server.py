"""A small, real OpenAI-compatible Chat Completions server on 127.0.0.1.

Two users need an LLM endpoint that is not a language model:

* tests, which script replies (and faults: 429, 500, slow or malformed replies) so that every LLM
  code path is exercised over real HTTP through the real ``openai`` client, never a mock;
* the offline planner back end, which answers prompts with a Python callable.

Both plug a *responder* into :class:`ChatServer`. A responder gets the request body (a dict with
``model``, ``messages``, ``n``, ...) and returns what to send: a string (used for every one of the
``n`` choices), a list of strings (exactly these choices), or a :class:`Fault`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, Union

Reply = Union[str, list[str], "Fault"]
Responder = Callable[[dict[str, Any]], Reply]


@dataclass(frozen=True)
class Fault:
    """A scripted misbehaviour of the endpoint.

    ``status`` sends an HTTP error (429, 500, ...); ``delay_s`` waits before answering (to trigger
    client timeouts); ``raw`` sends this body verbatim, with ``status`` or else 200 (a broken JSON
    payload, a server's own error text); ``then`` is the reply sent after the delay when there is
    no error status.
    """

    status: int | None = None
    delay_s: float = 0.0
    raw: str | None = None
    then: str | list[str] | None = None
    retry_after_s: float | None = None

    @classmethod
    def rate_limit(cls, retry_after_s: float = 0.05) -> Fault:
        return cls(status=429, retry_after_s=retry_after_s)

    @classmethod
    def server_error(cls) -> Fault:
        return cls(status=500)

    @classmethod
    def slow(cls, delay_s: float, then: str | list[str] = "") -> Fault:
        return cls(delay_s=delay_s, then=then)

    @classmethod
    def garbage(cls, raw: str = "{not json") -> Fault:
        return cls(raw=raw)

    @classmethod
    def http(cls, status: int, body: str | dict[str, Any]) -> Fault:
        """Any status with any body: a dict is sent as JSON, a string verbatim."""
        return cls(status=status, raw=body if isinstance(body, str) else json.dumps(body))


def _approx_tokens(text: str) -> int:
    """Usage numbers only need to be plausible and deterministic: ~4 characters per token."""
    return max(1, len(text) // 4)


def completion_body(request: dict[str, Any], contents: list[str]) -> dict[str, Any]:
    """A Chat Completions response object for ``contents`` (one choice each)."""
    prompt = "".join(str(m.get("content", "")) for m in request.get("messages", []))
    completion_tokens = sum(_approx_tokens(c) for c in contents)
    return {
        "id": f"chatcmpl-local-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "local"),
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
            for i, content in enumerate(contents)
        ],
        "usage": {
            "prompt_tokens": _approx_tokens(prompt),
            "completion_tokens": completion_tokens,
            "total_tokens": _approx_tokens(prompt) + completion_tokens,
        },
    }


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log: tests and the CLI own the console."""

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "local", "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        length = int(self.headers.get("Content-Length", 0))
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"error": {"message": "request body is not JSON"}})
            return
        self.server.owner.requests.append(request)
        try:
            reply = self.server.owner.responder(request)
        except Exception as exc:  # noqa: BLE001 - a responder bug must surface as HTTP 500, not a hang
            self._send_json(500, {"error": {"message": f"responder failed: {exc!r}"}})
            return
        self._answer(request, reply)

    def _answer(self, request: dict[str, Any], reply: Reply) -> None:
        if isinstance(reply, Fault):
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if reply.status is not None:
                headers = {}
                if reply.retry_after_s is not None:
                    # the openai client honours retry-after-ms, which keeps tests fast
                    headers["retry-after-ms"] = str(int(reply.retry_after_s * 1000))
                if reply.raw is not None:
                    self._send_raw(reply.status, reply.raw.encode(), headers)
                    return
                body = {"error": {"message": f"scripted fault {reply.status}", "type": "fault"}}
                self._send_json(reply.status, body, headers)
                return
            if reply.raw is not None:
                self._send_raw(200, reply.raw.encode())
                return
            reply = reply.then if reply.then is not None else ""
        n = int(request.get("n") or 1)
        # A string answers every sample; a list is exactly the choices sent (fewer than n
        # imitates servers such as Ollama that ignore `n`).
        contents = [reply] * n if isinstance(reply, str) else list(reply)[:n]
        self._send_json(200, completion_body(request, contents))

    def _send_json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(body).encode(), headers)

    def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test); nothing to tell it


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: ChatServer


class ChatServer:
    """Serve ``responder`` as an OpenAI-compatible endpoint until closed.

    Use as a context manager; ``base_url`` is what the ``openai`` client (and ``lifelong``'s
    ``llm.base_url`` setting) expects.
    """

    def __init__(self, responder: Responder, host: str = "127.0.0.1", port: int = 0) -> None:
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @classmethod
    def scripted(cls, replies: Iterable[Reply], **kwargs: Any) -> ChatServer:
        """Answer each request with the next scripted reply; running dry is a loud 500."""
        queue: deque[Reply] = deque(replies)

        def next_reply(_: dict[str, Any]) -> Reply:
            if not queue:
                raise RuntimeError("the scripted reply queue is empty")
            return queue.popleft()

        server = cls(next_reply, **kwargs)
        server.queue = queue  # type: ignore[attr-defined]  # tests may append more replies
        return server

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ChatServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def serve_forever(self) -> None:
        """Block serving (for ``lifelong`` commands that host a back end in the foreground)."""
        self._httpd.serve_forever()
