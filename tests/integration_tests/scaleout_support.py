"""Helpers shared by the scale-out tests, their worker processes and conftest.

* :class:`ChromaServer` starts a real ``chroma run`` on a free loopback port and stops it.
* :class:`TableEmbedder` answers with vectors computed once by the real MiniLM in the test process,
  so worker processes do not each spend ~15 s loading the model (the vectors are still MiniLM's).
* :func:`reference_ratings` replays the raw Chroma log in (ts, writer, seq) order with the ELO
  arithmetic, independently of the engine's in-memory state: "a full replay of the store".
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
WORKER = HERE / "scaleout_worker.py"
EMBEDDER_NAME = "all-MiniLM-L6-v2"

CODE = [
    "How do I reverse a list in Python?",
    "What is a Python dictionary comprehension?",
    "How to read a CSV file with Python's csv module?",
    "Explain Python decorators with an example.",
    "How do I sort a list of tuples in Python by the second element?",
    "What does the yield keyword do in Python?",
    "How do I merge two dictionaries in Python?",
    "What is the difference between a list and a tuple in Python?",
    "How to write a unit test with pytest?",
    "How do I catch several exceptions in one except clause in Python?",
]
POETRY = [
    "Write a sonnet about the autumn sea.",
    "Compose a haiku about falling snow.",
    "Write a love poem in the style of Neruda.",
    "Give me a limerick about a cat who sails.",
    "Write a short poem about the moon over the ocean.",
    "Compose free verse about a summer storm.",
    "Write an ode to a lighthouse keeper.",
    "A villanelle about the first day of spring, please.",
    "Write a ballad about a fisherman lost at sea.",
    "Compose a poem about city lights at night.",
]
PROBES = ["How can I flatten a nested list in Python?", "Write a poem about the winter wind."]
TEXTS = CODE + POETRY + PROBES + ["dimension probe"]  # the engine embeds that text to learn the dimension


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chroma_executable() -> str:
    beside = Path(sys.executable).parent / "chroma"
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if not found:
        raise RuntimeError("the `chroma` command (from the chromadb package) is not installed")
    return found


@dataclass
class ChromaServer:
    """A ``chroma run`` process on 127.0.0.1; ``start()`` waits for its heartbeat."""

    path: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.path.parent / f"chroma-{self.port}.log"

    def start(self, timeout: float = 60.0) -> ChromaServer:
        self.path.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child process
        self.proc = subprocess.Popen(
            [chroma_executable(), "run", "--path", str(self.path), "--host", self.host,
             "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}: {self.log_tail()}")
            if self.alive():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"chroma run gave no heartbeat within {timeout:.0f} s: {self.log_tail()}")

    def alive(self) -> bool:
        url = f"http://{self.host}:{self.port}/api/v2/heartbeat"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as resp:
                return resp.status == 200
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return "(no log)"

    def client(self) -> Any:
        return http_client(self.host, self.port)


def http_client(host: str, port: int) -> Any:
    import chromadb
    from chromadb.config import Settings

    return chromadb.HttpClient(host=host, port=port, settings=Settings(anonymized_telemetry=False))


class TableEmbedder:
    """An :class:`eagle_core.Embedder` answering from precomputed (real MiniLM) vectors."""

    name = EMBEDDER_NAME

    def __init__(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self._table = {t: np.asarray(v, dtype=np.float32) for t, v in zip(texts, vectors, strict=True)}

    @classmethod
    def load(cls, path: str | Path) -> TableEmbedder:
        data = np.load(path, allow_pickle=False)
        return cls([str(t) for t in data["texts"]], data["vectors"])

    def save(self, path: str | Path) -> None:
        texts = list(self._table)
        np.savez(path, texts=np.array(texts), vectors=np.stack([self._table[t] for t in texts]))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._table[t] for t in texts])


def raw_log(client: Any, collection: str) -> list[dict[str, Any]]:
    """Every record of ``<collection>_log`` as a dict (``id``, ``ts``, ``writer``, ``seq``, ``kind``,
    ``pairs`` and ``payload`` decoded from JSON), in replay order; reads store formats 1 and 2."""
    log = client.get_collection(f"{collection}_log")
    got = log.get(include=["metadatas"])
    rows = []
    for i, m in zip(got["ids"], got["metadatas"], strict=True):
        if "event" in m:  # format 2: ts + one JSON field
            row = {**json.loads(m["event"]), "ts": m["ts"]}
        else:
            row = {**m, "pairs": json.loads(m["pairs"]), "payload": json.loads(m["payload"] or "{}")}
        rows.append({"id": i, **row})
    rows.sort(key=lambda r: (int(r["ts"]), str(r["writer"]), int(r["seq"])))
    return rows


def reference_ratings(client: Any, collection: str, config: Any = None) -> dict[str, float]:
    """Global ratings from a replay of the raw log (only the control event ``models`` is expected),
    computed here independently of the engine's replay code path, with ``config``'s K and draws:
    pairwise matches by sequential ELO, rated answers (against par, ``""``) by the Glicko step with
    each model's evidence (the maths of :mod:`eagle_core._glicko`). A score set's stored grades
    (its matches against par) are rated answers of the graded fold only, which routing reads once
    the log holds thumbs (``EagleConfig.graded_scores``); the pairwise fold reads its matches."""
    from eagle_core import EagleConfig
    from eagle_core._elo import replay
    from eagle_core._glicko import PAR, Evidence

    config = config or EagleConfig()
    k, initial, draw = config.effective_global_k, config.initial_rating, config.draw_score
    folds = {name: ({}, Evidence(config.rd_initial, config.half_life)) for name in ("pairwise", "graded")}
    now, thumbs = 0, False
    for row in raw_log(client, collection):
        if row["kind"] == "models":
            for ratings, _ev in folds.values():
                ratings.update({m: initial for m in row["payload"]["models"]})
            continue
        assert row["kind"] in ("comparison", "scores", "thumbs"), row["kind"]
        thumbs = thumbs or row["kind"] == "thumbs"
        pairs = [(a, b, draw if d else s, w) for a, b, s, w, d in row["pairs"]
                 if not (d and draw is None)]
        grades = [p for p in pairs if p[1] == PAR] if row["kind"] == "scores" else []
        pairwise = [p for p in pairs if p[1] != PAR] if row["kind"] == "scores" else pairs
        for name, (ratings, evidence) in folds.items():
            use = grades if name == "graded" and grades else pairwise
            if any(b == PAR for _a, b, _s, _w in use):
                for a, _b, s, w in use:
                    evidence.rate(ratings, a, s, initial, w, now)
            else:
                replay(ratings, use, k)
                for a, b, _s, w in use:
                    evidence.pair(a, b, w * (1.0 / max(1, len(ratings) - 1)), now)
        now += 1
    return folds["graded" if thumbs and config.graded_scores else "pairwise"][0]


def run_worker(spec: dict[str, Any], spec_path: Path) -> subprocess.Popen[bytes]:
    """Start ``scaleout_worker.py`` in a new process with ``spec`` (written as JSON)."""
    spec_path.write_text(json.dumps(spec))
    log = open(spec_path.with_suffix(".log"), "wb")  # noqa: SIM115 - owned by the child process
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen([sys.executable, str(WORKER), str(spec_path)], stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    log.close()
    return proc


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def read_lines(path: Path) -> list[str]:
    """Complete lines of a file another process appends to (a torn last line is ignored)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    lines = text.split("\n")
    return [line for line in lines[:-1] if line]


def finish(proc: subprocess.Popen[bytes], spec_path: Path, timeout: float = 60.0) -> None:
    """Wait for a worker; on failure show its log."""
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = -9
    if code != 0:
        log = spec_path.with_suffix(".log")
        text = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise AssertionError(f"worker {spec_path.name} exited with {code}:\n{text}")


class SilentProxy:
    """A loopback TCP server in front of a Chroma server: it forwards bytes both ways until
    :meth:`go_silent`, then keeps accepting connections and reading requests but never answers (a
    network path that swallows packets); :meth:`resume` forwards again (requests swallowed meanwhile
    stay unanswered, as on a real network)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        import threading

        self.target = (target_host, target_port)
        self.host, self.port = "127.0.0.1", free_port()
        self.silent = threading.Event()
        self._sock = socket.create_server((self.host, self.port))
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def go_silent(self) -> None:
        self.silent.set()

    def resume(self) -> None:
        self.silent.clear()

    def close(self) -> None:
        self._closed = True
        self._sock.close()

    def client(self) -> Any:
        return http_client(self.host, self.port)

    def _accept(self) -> None:
        import threading

        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                conn.close()
                continue
            for src, dst in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not self.silent.is_set():
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
