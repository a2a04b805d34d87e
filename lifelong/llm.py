"""One client for every agent role, on any OpenAI-compatible endpoint.

Why a wrapper around ``openai.OpenAI`` at all:

* **Cost control.** Every call is charged to a role in a :class:`Ledger` that lives in the run
  folder (so ``--resume`` keeps counting) and is checked against the token and dollar budgets.
* **Reruns are free, samples stay random.** At temperature 0 replies are cached on disk by
  (model, messages, temperature, n) and shared between runs. At temperature > 0 a reply is a
  sample: it is cached only in its own run folder (``llm_cache/``), keyed by the request *and*
  its occurrence in this process (the k-th identical request), so ``--resume`` replays the run's
  own calls for free while a new run draws new samples (a shared cache would replay the first
  run's "random" samples forever and hide the variance between runs). ``replay_dir`` (the CLI's
  ``--replay DIR``) deliberately replays another run's samples.
* **Local servers differ.** Ollama and llama.cpp ignore ``n``; we top the samples up with more calls.
* **Errors a user can act on.** The ``openai`` client already retries 429/5xx/timeouts with
  exponential backoff; what is left after that is turned into a message that says what to do.
  A 4xx (bad request, key, model or URL) is not retried: asking again gets the same answer.
  A 200 that is not a chat completion (a proxy's page, another API) is retried twice at most.
* **Budgets are hard caps.** Before each call the worst case, prompt + ``n`` x ``max_tokens``, is
  counted against what is left; see :meth:`LLM._reply_tokens` for how a call is fitted in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifelong.config import LLMSettings
from lifelong.runs import atomic_write_json

LEDGER_FILE = "llm_ledger.json"
DEFAULT_CACHE_DIR = Path(".cache/lifelong/llm")
RUN_CACHE = "llm_cache"  # a run's own sampled replies (temperature > 0), inside its run folder
MALFORMED_RETRIES = 2  # a 200 in the wrong format is rarely transient: a couple of tries is enough
MIN_REPLY_TOKENS = 32  # a budget-capped reply shorter than this is worthless: refuse the call instead
RETRIED_4XX = (408, 409, 429)  # the 4xx statuses the openai client retries (timeout, conflict, rate)

log = logging.getLogger(__name__)

Message = dict[str, str]

NOT_CONFIGURED = """No LLM endpoint is configured. Point lifelong at any OpenAI-compatible server:
  OpenAI:     export LIFELONG_LLM__BASE_URL=https://api.openai.com/v1  OPENAI_API_KEY=sk-...
  Ollama:     ollama serve; export LIFELONG_LLM__BASE_URL=http://localhost:11434/v1
  vLLM:       vllm serve MODEL; export LIFELONG_LLM__BASE_URL=http://localhost:8000/v1
  llama.cpp:  llama-server -m MODEL.gguf; export LIFELONG_LLM__BASE_URL=http://localhost:8080/v1
(or set llm.base_url in lifelong.toml, or pass --llm-url). For Minecraft without any LLM,
use the deterministic planner back end: --llm planner."""


class LLMError(RuntimeError):
    """The endpoint could not give an answer, even after retries."""


class LLMNotConfigured(LLMError):
    def __init__(self) -> None:
        super().__init__(NOT_CONFIGURED)


class BudgetExceeded(LLMError):
    """The run has spent its token or dollar budget; the caller should checkpoint and stop."""


class LLMBadResponse(LLMError):
    """The server answered 200 but not with a chat completion: wrong URL, or not OpenAI-compatible."""


class LLMRequestRejected(LLMError):
    """The server refused the request with a 4xx; it is not retried, since the answer would not change."""


def estimate_prompt_tokens(messages: list[Message]) -> int:
    """An over-estimate of the prompt's tokens (we have no tokenizer for an arbitrary model).

    About 3 characters per token (English prose is ~4, code and other languages fewer) plus 4 per
    message for the chat framing; over-estimating only makes the budget check stricter.
    """
    return sum(math.ceil(len(str(m.get("content", ""))) / 3) + 4 for m in messages)


@dataclass
class RoleUsage:
    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class Ledger:
    """Tokens and dollars per role, persisted as JSON so a resumed run keeps its totals."""

    roles: dict[str, RoleUsage] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def load(cls, path: Path | None) -> Ledger:
        if path is None or not path.exists():
            return cls(path=path)
        raw = json.loads(path.read_text())
        return cls(roles={k: RoleUsage(**v) for k, v in raw.get("roles", {}).items()}, path=path)

    @property
    def tokens(self) -> int:
        return sum(u.prompt_tokens + u.completion_tokens for u in self.roles.values())

    @property
    def cost_usd(self) -> float:
        return sum(u.cost_usd for u in self.roles.values())

    def charge(self, role: str, prompt: int, completion: int, cost: float, cached: bool) -> None:
        usage = self.roles.setdefault(role, RoleUsage())
        usage.calls += 1
        if cached:
            usage.cached_calls += 1
            return
        usage.prompt_tokens += prompt
        usage.completion_tokens += completion
        usage.cost_usd += cost
        self.save()

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens,
            "cost_usd": round(self.cost_usd, 6),
            "roles": {k: vars(v) for k, v in self.roles.items()},
        }

    def save(self) -> None:
        if self.path is not None:
            atomic_write_json(self.path, self.to_dict())


class ResponseCache:
    """Replies on disk, one JSON file per request key, so a rerun of the same prompts costs nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def key(model: str, messages: list[Message], temperature: float, n: int) -> str:
        blob = json.dumps([model, messages, temperature, n], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> list[str] | None:
        path = self.root / key[:2] / f"{key}.json"
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())["contents"]
        except (json.JSONDecodeError, KeyError):
            return None  # a torn or foreign file is a miss, not a crash

    def put(self, key: str, contents: list[str]) -> None:
        atomic_write_json(self.root / key[:2] / f"{key}.json", {"contents": contents})


class LLM:
    """``chat(role, messages, n)`` returns ``n`` completion texts, charged to ``role``."""

    def __init__(
        self,
        settings: LLMSettings,
        run_dir: Path | None = None,
        cache_dir: Path | None = DEFAULT_CACHE_DIR,
        replay_dir: Path | None = None,
    ) -> None:
        """``cache_dir``: the temperature-0 cache shared by runs; ``run_dir``: the run folder,
        whose ``llm_cache/`` holds this run's samples; ``replay_dir``: another run folder whose
        samples are replayed (``--replay``)."""
        if not settings.base_url:
            raise LLMNotConfigured()
        self.settings = settings
        self.ledger = Ledger.load(run_dir / LEDGER_FILE if run_dir else None)
        self.cache = ResponseCache(cache_dir) if (settings.cache and cache_dir) else None
        self.samples = ResponseCache(run_dir / RUN_CACHE) if (settings.cache and run_dir) else None
        self.replay = ResponseCache(replay_dir / RUN_CACHE) if replay_dir else None
        self._asked: dict[str, int] = {}  # sampled requests seen by this process, per request key
        self._lock = threading.Lock()
        import openai  # ~2 s to import: only commands that really talk to an LLM pay for it

        self._client = openai.OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key(),
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        )

    def chat(
        self,
        role: str,
        messages: list[Message],
        n: int = 1,
        temperature: float | None = None,
    ) -> list[str]:
        """Ask the role's model; returns exactly ``n`` texts or raises :class:`LLMError`."""
        model = self.settings.model_for(role)
        temp = self.settings.temperature if temperature is None else temperature
        key = ResponseCache.key(model, messages, temp, n)
        if temp > 0:
            key = self._sample_key(key)
        if (hit := self._cached(key, temp)) is not None:
            with self._lock:
                self.ledger.charge(role, 0, 0, 0.0, cached=True)
            return hit
        contents: list[str] = []
        capped = False
        while len(contents) < n:  # servers that ignore `n` get topped up with more calls
            want = n - len(contents)
            max_tokens = self._reply_tokens(model, messages, want)
            capped |= max_tokens < self.settings.max_tokens
            contents += self._complete(role, model, messages, want, temp, max_tokens)
        store = self.cache if temp == 0 else self.samples
        if store and not capped:  # a reply cut short by the budget must be asked again later
            store.put(key, contents[:n])
        return contents[:n]

    def _sample_key(self, key: str) -> str:
        """The key of the k-th identical sampled request of this process: a resumed run redoes
        its calls in order and replays them; asking the same twice still draws twice."""
        with self._lock:
            k = self._asked.get(key, 0)
            self._asked[key] = k + 1
        return hashlib.sha256(f"{key}:{k}".encode()).hexdigest()

    def _cached(self, key: str, temperature: float) -> list[str] | None:
        """A cached reply: the shared cache at temperature 0; else this run's own samples, then
        (copied into this run, so its --resume replays them too) the replayed run's."""
        if temperature == 0:
            return self.cache.get(key) if self.cache else None
        if self.samples and (hit := self.samples.get(key)) is not None:
            return hit
        if self.replay and (hit := self.replay.get(key)) is not None:
            if self.samples:
                self.samples.put(key, hit)
            return hit
        return None

    @property
    def _endpoint(self) -> str:
        return f"{self.settings.base_url}/chat/completions"

    def _complete(
        self, role: str, model: str, messages: list[Message], n: int, temperature: float, max_tokens: int
    ) -> list[str]:
        """One request, tried again (a little) when the server answers 200 in the wrong format."""
        tries = 1 + min(MALFORMED_RETRIES, self.settings.max_retries)
        for _ in range(tries - 1):
            try:
                return self._ask_once(role, model, messages, n, temperature, max_tokens)
            except NotChatCompletion as exc:
                log.warning("the LLM endpoint sent a malformed reply (%s); trying again", exc)
        try:
            return self._ask_once(role, model, messages, n, temperature, max_tokens)
        except NotChatCompletion as exc:
            raise LLMBadResponse(
                f"the server at {self._endpoint} answered 200 but not in the OpenAI chat format "
                f"(a malformed reply, {tries} tries): {exc}. Check that llm.base_url points at an "
                "OpenAI-compatible API (usually ending in /v1), not a web page or another API."
            ) from exc

    def _ask_once(
        self, role: str, model: str, messages: list[Message], n: int, temperature: float, max_tokens: int
    ) -> list[str]:
        body = self._request(role, model, messages, n, temperature, max_tokens)
        texts, usage = parse_chat_completion(body)
        self._charge(role, model, usage)
        return texts

    def _request(
        self, role: str, model: str, messages: list[Message], n: int, temperature: float, max_tokens: int
    ) -> str:
        """POST the request (the ``openai`` client retries 429/5xx/timeouts) and return the raw body.

        The body is parsed by us, not by ``openai``, whose lenient models let a wrong shape
        through as ``None`` attributes that crash later.
        """
        import openai

        try:
            raw = self._client.chat.completions.with_raw_response.create(
                model=model,
                messages=messages,  # type: ignore[arg-type]
                n=n,
                temperature=temperature,
                max_tokens=max_tokens,
            )
        except openai.APIConnectionError as exc:
            raise LLMError(
                f"cannot reach the LLM endpoint {self.settings.base_url} ({exc}). "
                "Is the server running, and is llm.base_url right?"
            ) from exc
        except openai.APIStatusError as exc:
            raise self._status_error(exc, role, model, max_tokens) from exc
        return raw.http_response.text

    def _status_error(self, exc: Any, role: str, model: str, max_tokens: int) -> LLMError:
        """An HTTP error, worded by whether it was retried and what the user can change."""
        status = exc.status_code
        said = _server_said(exc)
        if 400 <= status < 500 and status not in RETRIED_4XX:
            return LLMRequestRejected(
                f"the server at {self._endpoint} refused the request with HTTP {status}: {said} "
                f"(not retried: asking again would get the same answer). "
                f"{self._client_error_hint(status, role, model, max_tokens)}"
            )
        return LLMError(
            f"the LLM endpoint {self._endpoint} kept failing with HTTP {status} after "
            f"{self.settings.max_retries} retries: {said}. The server is overloaded or failing: "
            "check its logs, try again later, or raise llm.max_retries."
        )

    def _client_error_hint(self, status: int, role: str, model: str, max_tokens: int) -> str:
        key_env = self.settings.api_key_env
        if status == 401:
            unset = "" if os.environ.get(key_env) else ", which is not set"
            return (f"Check the API key: it is read from ${key_env} (llm.api_key_env){unset}; export a "
                    "valid key there, or point llm.api_key_env at the variable that holds it.")
        if status == 403:
            return (f"The API key from ${key_env} may not use model {model!r}: check the key's "
                    f"permissions, or set llm.models.{role} to a model it may use.")
        if status == 404:
            return (f"Check llm.base_url ({self.settings.base_url}; OpenAI-compatible servers usually "
                    f"end in /v1) and that the server serves model {model!r} (llm.models.{role}).")
        return (f"Check that model {model!r} (llm.models.{role}) accepts these parameters: "
                f"llm.max_tokens={max_tokens}, llm.temperature, and n samples per call.")

    def _charge(self, role: str, model: str, usage: dict[str, int]) -> None:
        prompt, completion = usage["prompt_tokens"], usage["completion_tokens"]
        price_in, price_out = self.settings.prices.get(model, (0.0, 0.0))
        cost = (prompt * price_in + completion * price_out) / 1e6
        with self._lock:
            self.ledger.charge(role, prompt, completion, cost, cached=False)

    def _reply_tokens(self, model: str, messages: list[Message], n: int) -> int:
        """The ``max_tokens`` for a call of ``n`` samples whose worst case fits the budgets.

        The worst case is the prompt (estimated) plus ``n`` x ``max_tokens``. When it does not fit
        what is left, ``max_tokens`` is lowered rather than the call refused: the server enforces
        ``max_tokens``, so lowering it keeps the budget a hard cap while still spending what is
        left (lowering ``n`` instead would break the promise of exactly ``n`` texts). Only when each
        reply would get fewer than ``MIN_REPLY_TOKENS`` is :class:`BudgetExceeded` raised, before
        anything is spent. Capped replies are not cached (see :meth:`chat`).
        """
        self._check_budget()
        prompt = estimate_prompt_tokens(messages)
        limit, room = self.settings.max_tokens, self.settings.max_tokens
        for per_reply, budget_note in self._budget_rooms(model, prompt, n):
            if per_reply < min(MIN_REPLY_TOKENS, limit):
                raise BudgetExceeded(
                    f"not enough budget left for this call: {n} replies of at least "
                    f"{min(MIN_REPLY_TOKENS, limit)} tokens plus a prompt of ~{prompt} tokens, but "
                    f"{budget_note}; raise it and resume later with --resume"
                )
            room = min(room, per_reply)
        if room < limit:
            log.warning("budget nearly spent: this call's replies are capped at %d tokens (llm.max_tokens=%d)",
                        room, limit)
        return room

    def _budget_rooms(self, model: str, prompt: int, n: int) -> list[tuple[int, str]]:
        """Tokens each of ``n`` replies may use under each budget, with a note on what is left."""
        rooms = []
        if (budget := self.settings.budget_tokens) is not None:
            left = budget - self.ledger.tokens
            rooms.append(((left - prompt) // n, f"only {left} of llm.budget_tokens={budget} are left"))
        price_in, price_out = self.settings.prices.get(model, (0.0, 0.0))
        if (dollars := self.settings.budget_usd) is not None and price_out > 0:
            left_usd = dollars - self.ledger.cost_usd
            per_reply = int((left_usd * 1e6 - prompt * price_in) / price_out) // n
            note = (f"only ${left_usd:.4g} of llm.budget_usd=${dollars:g} is left "
                    f"(model {model!r} costs ${price_out}/M output tokens)")
            rooms.append((per_reply, note))
        return rooms

    def _check_budget(self) -> None:
        tokens, cost = self.ledger.tokens, self.ledger.cost_usd
        if self.settings.budget_tokens is not None and tokens >= self.settings.budget_tokens:
            raise BudgetExceeded(
                f"token budget spent ({tokens} >= {self.settings.budget_tokens}); "
                "raise llm.budget_tokens or resume later with --resume"
            )
        if self.settings.budget_usd is not None and cost >= self.settings.budget_usd:
            raise BudgetExceeded(
                f"dollar budget spent (${cost:.2f} >= ${self.settings.budget_usd:.2f}); "
                "raise llm.budget_usd or resume later with --resume"
            )


def _server_said(exc: Any) -> str:
    """The server's own error text: ``{"error": {"message": ...}}`` when it sent one."""
    body = exc.body
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    text = body if isinstance(body, str) else getattr(getattr(exc, "response", None), "text", "")
    return (text or "no error text").strip()[:300]


class NotChatCompletion(ValueError):
    """What is wrong with a 200 body that is not a chat completion (becomes :class:`LLMBadResponse`)."""


def parse_chat_completion(raw: str) -> tuple[list[str], dict[str, int]]:
    """The choices' texts and the usage of a Chat Completions body, or NotChatCompletion."""
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise NotChatCompletion(f"the body is not JSON ({exc}): {raw[:200]!r}") from exc
    if not isinstance(body, dict):
        raise NotChatCompletion(f"the body is a JSON {type(body).__name__}, not an object: {raw[:200]!r}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise NotChatCompletion(f"no 'choices' list with at least one choice in {raw[:200]!r}")
    texts = [_choice_text(i, choice) for i, choice in enumerate(choices)]
    return texts, _usage(body.get("usage"))


def _usage(usage: Any) -> dict[str, int]:
    """Token counts as ints; a server that reports none (some local ones) costs nothing."""
    usage = usage if isinstance(usage, dict) else {}
    counts = {}
    for name in ("prompt_tokens", "completion_tokens"):
        value = usage.get(name)
        counts[name] = int(value) if isinstance(value, int | float) else 0
    return counts


def _choice_text(index: int, choice: Any) -> str:
    """``choices[i].message.content``; a null content (a refusal, say) is an empty text."""
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict) or "content" not in message:
        raise NotChatCompletion(f"choices[{index}] has no message.content: {json.dumps(choice)[:200]}")
    content = message["content"]
    if content is not None and not isinstance(content, str):
        raise NotChatCompletion(f"choices[{index}].message.content is not text: {json.dumps(content)[:200]}")
    return content or ""
