"""Shared fixtures: the real bundled MiniLM embedder, real in-memory Chroma engines, the data folder."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

# Two oversubscribed cores: one intra-op thread embeds a short query ~30x faster than two here.
torch.set_num_threads(1)

from eagle_core import Eagle, EagleConfig, SentenceTransformerEmbedder  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_HELP = (
    "the real routing data is not available: set EAGLE_DATA_DIR to a folder holding routerbench/, "
    "arena_bench/, routellm/ and vicuna80_votes/ (the shared data described in docs/DATA.md), or place "
    "it at ../shared/data next to the repository"
)


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real bundled all-MiniLM-L6-v2, loaded once per test session."""
    emb = SentenceTransformerEmbedder()
    emb.embed(["warm up"])
    return emb


@pytest.fixture
def make_eagle(embedder: SentenceTransformerEmbedder) -> Iterator[Callable[..., Eagle]]:
    """Factory for engines on real Chroma (in-memory unless path=/client= is given)."""
    created: list[Eagle] = []

    def factory(models: Any = None, **kwargs: Any) -> Eagle:
        kwargs.setdefault("embedder", embedder)
        kwargs.setdefault("config", EagleConfig(seed=0))  # exploration draws repeat run to run
        eagle = Eagle(models, **kwargs)
        created.append(eagle)
        return eagle

    yield factory
    for eagle in created:
        eagle.close()


@pytest.fixture
def store_counts() -> Callable[[Eagle], dict[str, int]]:
    """Records in an engine's feedback log and neighbour index, counted by Chroma's own client:
    what the store holds, whatever the engine believes. For engines given ``path=`` or ``client=``
    (an in-memory engine's collection names are private to it)."""
    import chromadb
    from chromadb.config import Settings

    def count(eagle: Eagle) -> dict[str, int]:
        eagle.flush()  # index records are written behind the log
        client = eagle.client or chromadb.PersistentClient(
            str(eagle.path), settings=Settings(anonymized_telemetry=False))
        return {part: client.get_collection(f"{eagle.collection}_{part}").count()
                for part in ("log", "queries")}

    return count


@pytest.fixture
def in_memory_collections() -> Callable[[], set[str]]:
    """Names of the collections in the process's in-memory Chroma (``chromadb.EphemeralClient``,
    shared by every in-memory engine): a constructor that opened a store would add some."""
    import chromadb
    from chromadb.config import Settings

    shared = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))
    return lambda: {getattr(c, "name", c) for c in shared.list_collections()}


def resolve_data_dir() -> Path | None:
    env = os.environ.get("EAGLE_DATA_DIR")
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return candidate if (candidate / "routerbench").is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared data folder. Missing data fails the run in CI and skips elsewhere."""
    found = resolve_data_dir()
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must have the data: {DATA_HELP}")
        pytest.skip(DATA_HELP)
    return found
