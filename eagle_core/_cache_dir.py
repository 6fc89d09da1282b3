"""The one folder eagle-router caches derived files in (never the routing store).

``$EAGLE_CACHE_DIR``, else ``~/.cache/eagle-router``. Each user of it takes a sub-folder: the
evaluation's embedding cache ``embeddings/``, the ONNX embedders' exported graphs ``onnx/``; so one
setting moves every cache, and clearing one kind never touches the other.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "default_cache_dir"]

CACHE_ENV = "EAGLE_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$EAGLE_CACHE_DIR``, else ``~/.cache/eagle-router``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "eagle-router"
