"""Integration fixtures: a real ``chroma run`` server on a free loopback port, and real MiniLM vectors
that worker processes can use without loading the model themselves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from scaleout_support import TEXTS, ChromaServer, TableEmbedder


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One Chroma server for the session (tests isolate themselves by collection name)."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma") / "db").start()
    yield server
    server.stop()


@pytest.fixture
def collection() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def table_embedder(embedder, tmp_path_factory: pytest.TempPathFactory) -> tuple[TableEmbedder, Path]:
    """MiniLM vectors of the scale-out texts, computed once, plus the file workers load them from."""
    table = TableEmbedder(TEXTS, embedder.embed(TEXTS))
    path = tmp_path_factory.mktemp("vectors") / "vectors.npz"
    table.save(path)
    return table, path
