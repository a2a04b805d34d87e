"""One client for every agent role, on any OpenAI-compatible endpoint.

Why a wrapper around ``openai.OpenAI`` at all:

* **Cost control.** Every call is charged to a role in a :class:`Ledger` that lives in the run
  folder (so ``--resume`` keeps counting) and is checked against the token and dollar budgets.
* **Reruns are free.** Replies are cached on disk by (model, messages, temperature, n).
* **Local servers differ.** Ollama and llama.cpp ignore ``n``; we top the samples up with more calls.
* **Errors a user can act on.** The ``openai`` client already retries 429/5xx/timeouts with
  exponential backoff; what is left after that is turned into a message that says what to do.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifelong.config import LLMSettings
from lifelong.runs import atomic_write_json

LEDGER_FILE = "llm_ledger.json"
DEFAULT_CACHE_DIR = Path(".cache/lifelong/llm")

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
    ) -> None:
        if not settings.base_url:
            raise LLMNotConfigured()
        self.settings = settings
        self.ledger = Ledger.load(run_dir / LEDGER_FILE if run_dir else None)
        self.cache = ResponseCache(cache_dir) if (settings.cache and cache_dir) else None
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
        if self.cache and (hit := self.cache.get(key)) is not None:
            with self._lock:
                self.ledger.charge(role, 0, 0, 0.0, cached=True)
            return hit
        self._check_budget()
        contents: list[str] = []
        while len(contents) < n:  # servers that ignore `n` get topped up with more calls
            contents += self._complete(role, model, messages, n - len(contents), temp)
        if self.cache:
            self.cache.put(key, contents[:n])
        return contents[:n]

    def _complete(
        self, role: str, model: str, messages: list[Message], n: int, temperature: float
    ) -> list[str]:
        import openai

        try:
            response = self._client.chat.completions.create(
                model=model,
                messages=messages,  # type: ignore[arg-type]
                n=n,
                temperature=temperature,
                max_tokens=self.settings.max_tokens,
            )
        except openai.APIConnectionError as exc:
            raise LLMError(
                f"cannot reach the LLM endpoint {self.settings.base_url} ({exc}). "
                "Is the server running, and is llm.base_url right?"
            ) from exc
        except openai.AuthenticationError as exc:
            raise LLMError(
                f"the endpoint rejected the API key (from ${self.settings.api_key_env}). "
                "Export a valid key or set llm.api_key_env to the variable that holds it."
            ) from exc
        except openai.NotFoundError as exc:
            raise LLMError(
                f"the endpoint does not know model {model!r} (role {role}). "
                f"Set llm.models.{role} to a model it serves."
            ) from exc
        except openai.APIStatusError as exc:
            raise LLMError(
                f"the LLM endpoint kept failing with HTTP {exc.status_code} after "
                f"{self.settings.max_retries} retries: {exc.message}"
            ) from exc
        except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError) as exc:
            raise LLMError(f"the LLM endpoint sent a malformed response: {exc}") from exc
        texts = [(choice.message.content or "") for choice in (response.choices or [])]
        if not texts:
            raise LLMError("the LLM endpoint answered with no choices")
        self._charge(role, model, response.usage)
        return texts

    def _charge(self, role: str, model: str, usage: Any) -> None:
        prompt = getattr(usage, "prompt_tokens", 0) or 0
        completion = getattr(usage, "completion_tokens", 0) or 0
        price_in, price_out = self.settings.prices.get(model, (0.0, 0.0))
        cost = (prompt * price_in + completion * price_out) / 1e6
        with self._lock:
            self.ledger.charge(role, prompt, completion, cost, cached=False)

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
