"""A router process for the scale-out tests: ``python scaleout_worker.py SPEC.json``.

Roles (``spec["role"]``):

* ``probe``: route ``spec["probe"]`` in a loop and append ``{"t", "model", "n"}`` lines to
  ``spec["out"]`` until the chosen model is ``spec["target"]`` (or ``spec["timeout"]`` passes).
* ``route``: route each of ``spec["queries"]`` and append ``{"decision_id", "model"}`` lines to
  ``spec["out"]`` as soon as each route returns; then wait for ``spec["stop"]`` to exist and close.
* ``record``: optionally wait for ``spec["go"]`` to exist, then record ``spec["items"]`` in order
  (routing a query between items when ``spec["route_between"]``, which makes the engine sync), and
  append each acknowledged event id to ``spec["acks"]`` as soon as ``record_*`` returns. Then,
  when ``spec["expect"]`` is given, sync until that many feedback events are known and write the
  ratings to ``spec["result"]``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scaleout_support import TableEmbedder, http_client  # noqa: E402

from eagle_core import Eagle, EagleConfig  # noqa: E402


def open_engine(spec: dict[str, Any]) -> Eagle:
    return Eagle(
        spec.get("models"),
        client=http_client(spec["host"], spec["port"]),
        collection=spec["collection"],
        embedder=TableEmbedder.load(spec["vectors"]),
        config=EagleConfig(sync_interval=spec.get("sync_interval")),
    ).open()


def append_line(fd: int, line: str) -> None:
    """One write() per line on an O_APPEND fd: in the kernel as soon as it returns (SIGKILL-safe)."""
    os.write(fd, (line + "\n").encode())


def probe(eagle: Eagle, spec: dict[str, Any]) -> None:
    fd = os.open(spec["out"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    append_line(fd, json.dumps({"ready": True}))
    deadline = time.monotonic() + spec["timeout"]
    while time.monotonic() < deadline:
        decision = eagle.route(spec["probe"], explore=False)  # observe the ranking
        append_line(fd, json.dumps({"t": time.time(), "model": decision.model, "n": eagle.n_feedback}))
        if decision.model == spec["target"]:
            break
        time.sleep(0.02)
    os.close(fd)


def record_one(eagle: Eagle, item: dict[str, Any]) -> str:
    if "scores" in item:
        return eagle.record_scores(item["query"], item["scores"])
    if "thumbs" in item:
        return eagle.record_thumbs(item["query"], item["model"], item["thumbs"])
    return eagle.record_comparison(item["query"], item["winner"], item["loser"], tie=item.get("tie", False))


def record(eagle: Eagle, spec: dict[str, Any]) -> None:
    go = spec.get("go")
    deadline = time.monotonic() + 60
    while go and not os.path.exists(go):
        if time.monotonic() > deadline:
            raise SystemExit("no go signal within 60 s")
        time.sleep(0.01)
    fd = os.open(spec["acks"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for item in spec["items"]:
        event_id = record_one(eagle, item)
        append_line(fd, event_id)
        if spec.get("route_between"):
            eagle.route(item["query"])
    os.close(fd)
    expect = spec.get("expect")
    if expect is None:
        return
    deadline = time.monotonic() + 60
    while eagle.n_feedback < expect and time.monotonic() < deadline:
        eagle.sync()
        time.sleep(0.05)
    result = {"ratings": eagle.ratings, "n_feedback": eagle.n_feedback}
    Path(spec["result"]).write_text(json.dumps(result))


def route(eagle: Eagle, spec: dict[str, Any]) -> None:
    fd = os.open(spec["out"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for query in spec["queries"]:
        decision = eagle.route(query)
        append_line(fd, json.dumps({"decision_id": decision.decision_id, "model": decision.model}))
    os.close(fd)
    deadline = time.monotonic() + 120
    while not os.path.exists(spec["stop"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    eagle.close()


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    eagle = open_engine(spec)
    if spec.get("ready"):
        Path(spec["ready"]).touch()
    {"probe": probe, "record": record, "route": route}[spec["role"]](eagle, spec)


if __name__ == "__main__":
    main()
