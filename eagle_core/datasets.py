"""Loaders for the canonical router-evaluation data format (``shared/data/README.md``).

A dataset folder holds ``prompts.csv``, ``scores.csv`` (optional for vote-only data),
``votes.csv`` (optional), ``responses.jsonl.gz`` (optional) and ``meta.json``; any CSV may be
gzipped (``X.csv.gz``). Only the standard library and numpy are used, so loading needs no
optional dependency.

>>> ds = load_dataset("routerbench")                 # from $EAGLE_DATA_DIR or ../shared/data
>>> train, test = ds.split(seed=42, train_frac=0.7)  # per sub-dataset, the RouterBench way
>>> ds.scores[test].mean(axis=0)                     # mean test score of every model
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from eagle_core._errors import EagleError

__all__ = [
    "DATA_ENV",
    "DatasetError",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "RoutingDataset",
    "Vote",
    "data_dir",
    "list_datasets",
    "load_dataset",
]

logger = logging.getLogger(__name__)

DATA_ENV = "EAGLE_DATA_DIR"
_HOW_TO_GET = (
    "set the environment variable EAGLE_DATA_DIR to the folder that holds routerbench/, "
    "arena_bench/, routellm/ and vicuna80_votes/ (the shared evaluation data, see "
    "shared/data/README.md), or place that folder at <repo>/../shared/data"
)


class DatasetError(EagleError, ValueError):
    """Base class of dataset loading errors (an EagleError and a ValueError: bad path or file)."""


class DatasetNotFoundError(DatasetError):
    """The dataset folder (or the data root) does not exist or holds no ``prompts.csv``."""


class DatasetFormatError(DatasetError):
    """A file exists but does not follow the canonical format (missing column, bad value...)."""


class Vote(NamedTuple):
    """One pairwise verdict from ``votes.csv``; ``winner`` is "model_a", "model_b" or "tie"."""

    prompt_id: str
    model_a: str
    model_b: str
    winner: str
    judge: str


def data_dir() -> Path | None:
    """The evaluation data root: ``$EAGLE_DATA_DIR``, else ``<repo>/../shared/data`` if present.

    Returns None when neither is available (callers decide whether that is a skip or an error).
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return default if default.is_dir() else None


_default_root = data_dir  # the parameters named data_dir below shadow the function


def list_datasets(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the dataset folders under ``root`` (default :func:`data_dir`), sorted."""
    base = Path(root) if root is not None else data_dir()
    if base is None or not base.is_dir():
        raise DatasetNotFoundError(f"data root {base} does not exist: {_HOW_TO_GET}")
    return sorted(p.name for p in base.iterdir() if p.is_dir() and _find(p, "prompts.csv"))


def _find(folder: Path, name: str) -> Path | None:
    """``folder/name`` or its gzipped twin ``folder/name.gz``, whichever exists."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")  # type: ignore[return-value]
    return open(path, encoding="utf-8", newline="")  # noqa: SIM115


def _rows(path: Path, required: Sequence[str]) -> Iterator[dict[str, str]]:
    with _open_text(path) as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetFormatError(
                f"{path}: missing column(s) {missing}; expected at least {list(required)}, "
                f"got {reader.fieldnames}"
            )
        yield from reader


def _float_or_nan(text: str, path: Path, what: str) -> float:
    if text is None or text.strip() == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise DatasetFormatError(f"{path}: {what} must be a number or empty, got {text!r}") from None


def resolve_dataset_path(
    name_or_path: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Folder of a dataset given its name (under the data root) or a path to the folder."""
    given = Path(name_or_path).expanduser()
    if _find(given, "prompts.csv"):
        return given
    root = Path(data_dir).expanduser() if data_dir is not None else _default_root()
    if root is None:
        raise DatasetNotFoundError(
            f"dataset {str(name_or_path)!r} not found (no data root configured): {_HOW_TO_GET}"
        )
    folder = root / str(name_or_path)
    if not _find(folder, "prompts.csv"):
        raise DatasetNotFoundError(
            f"dataset {str(name_or_path)!r} not found: {folder} has no prompts.csv[.gz]; {_HOW_TO_GET}"
        )
    return folder


@dataclass(frozen=True, eq=False)
class RoutingDataset:
    """Per-prompt evaluation data for routing: prompts x models scores and costs.

    Row ``i`` of ``scores``/``costs`` is prompt ``prompt_ids[i]``; column ``j`` is ``models[j]``.
    Missing scores and unknown costs are NaN (an unknown cost is never "free").
    ``scores`` is None for a vote-only dataset (``votes`` set, no ``scores.csv``).
    """

    name: str
    path: Path | None
    prompt_ids: tuple[str, ...]
    prompts: tuple[str, ...]
    subsets: np.ndarray  # (n,) str: the "dataset" column (sub-benchmark) of each prompt
    models: tuple[str, ...]
    scores: np.ndarray | None  # (n, m) float, NaN where missing
    costs: np.ndarray  # (n, m) float USD per call, NaN where unknown
    votes: tuple[Vote, ...] | None = None
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.prompt_ids)

    def __repr__(self) -> str:
        return (
            f"RoutingDataset(name={self.name!r}, prompts={len(self)}, models={len(self.models)}, "
            f"subsets={self.subset_names}, votes={len(self.votes) if self.votes else 0})"
        )

    @property
    def subset_names(self) -> list[str]:
        """Sub-dataset names in order of first appearance."""
        seen: dict[str, None] = {}
        for s in self.subsets:
            seen.setdefault(str(s), None)
        return list(seen)

    @property
    def has_scores(self) -> bool:
        return self.scores is not None

    def subset_indices(self, subset: str) -> np.ndarray:
        """Row indices of one sub-dataset, in file order."""
        return np.flatnonzero(self.subsets == subset)

    def split(self, seed: int = 42, train_frac: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
        """Train/test row indices, split per sub-dataset the RouterBench way.

        For each sub-dataset separately: ``np.random.seed(seed)``, shuffle its rows (file order),
        first ``int(train_frac * n)`` rows train, the rest test. Returns two sorted index arrays.
        """
        if not 0.0 < train_frac < 1.0:
            raise ValueError(f"train_frac must be in (0, 1), got {train_frac!r}")
        train, test = [], []
        for subset in self.subset_names:
            idx = self.subset_indices(subset)
            perm = np.random.RandomState(seed).permutation(len(idx))
            cut = int(train_frac * len(idx))
            train.append(idx[perm[:cut]])
            test.append(idx[perm[cut:]])
        return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))

    def mean_costs(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Mean cost per model over ``rows`` (all rows by default); NaN where no cost is known."""
        costs = self.costs if rows is None else self.costs[rows]
        out = np.full(len(self.models), np.nan)
        known = ~np.isnan(costs)
        counts = known.sum(axis=0)
        sums = np.where(known, costs, 0.0).sum(axis=0)
        np.divide(sums, counts, out=out, where=counts > 0)
        return out

    def select(self, rows: Sequence[int] | np.ndarray) -> RoutingDataset:
        """A new dataset restricted to ``rows`` (votes kept only for the kept prompts)."""
        rows = np.asarray(rows, dtype=int)
        ids = tuple(self.prompt_ids[i] for i in rows)
        keep = set(ids)
        votes = None if self.votes is None else tuple(v for v in self.votes if v.prompt_id in keep)
        return RoutingDataset(
            name=self.name,
            path=self.path,
            prompt_ids=ids,
            prompts=tuple(self.prompts[i] for i in rows),
            subsets=self.subsets[rows],
            models=self.models,
            scores=None if self.scores is None else self.scores[rows],
            costs=self.costs[rows],
            votes=votes,
            meta=self.meta,
        )

    def sample_per_subset(self, limit: int | None, seed: int = 42) -> RoutingDataset:
        """At most ``limit`` random prompts of each sub-dataset (seeded; file order kept).

        Used to cap large sub-datasets (routellm mmlu has 14k prompts) in benchmarks;
        ``None`` returns ``self``.
        """
        if limit is None:
            return self
        if limit < 1:
            raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
        keep = []
        for subset in self.subset_names:
            idx = self.subset_indices(subset)
            if len(idx) > limit:
                idx = np.sort(idx[np.random.RandomState(seed).permutation(len(idx))[:limit]])
            keep.append(idx)
        rows = np.sort(np.concatenate(keep))
        return self if len(rows) == len(self) else self.select(rows)

    def responses(self) -> dict[tuple[str, str], str]:
        """``{(prompt_id, model): response}`` from ``responses.jsonl.gz`` (read on each call).

        Empty when the dataset has no responses file; rows for prompts not in this dataset
        (e.g. after :meth:`select`) are skipped.
        """
        if self.path is None:
            return {}
        path = _find(self.path, "responses.jsonl")
        if path is None:
            return {}
        wanted = set(self.prompt_ids)
        out: dict[tuple[str, str], str] = {}
        with _open_text(path) as fh:
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    pid, model, text = rec["prompt_id"], rec["model"], rec["response"]
                except (json.JSONDecodeError, KeyError) as exc:
                    raise DatasetFormatError(
                        f"{path}:{line_no}: expected a JSON object with prompt_id, model, response ({exc})"
                    ) from None
                if pid in wanted:
                    out[(pid, model)] = text
        return out


def load_dataset(
    name_or_path: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None
) -> RoutingDataset:
    """Load one dataset folder, by name under the data root or by path.

    ``data_dir`` overrides the root (default :func:`data_dir`: ``$EAGLE_DATA_DIR`` or
    ``<repo>/../shared/data``). Raises :class:`DatasetNotFoundError` naming the path and how to
    get the data, or :class:`DatasetFormatError` for malformed files.
    """
    folder = resolve_dataset_path(name_or_path, data_dir)
    meta_path = folder / "meta.json"
    meta: dict = {}
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DatasetFormatError(f"{meta_path}: not valid JSON ({exc})") from None

    prompts_path = _find(folder, "prompts.csv")
    assert prompts_path is not None  # resolve_dataset_path checked it
    ids: list[str] = []
    texts: list[str] = []
    subsets: list[str] = []
    index: dict[str, int] = {}
    for row in _rows(prompts_path, ("prompt_id", "dataset", "prompt")):
        pid = row["prompt_id"]
        if pid in index:
            raise DatasetFormatError(f"{prompts_path}: duplicate prompt_id {pid!r}")
        index[pid] = len(ids)
        ids.append(pid)
        texts.append(row["prompt"])
        subsets.append(row["dataset"])

    votes = _load_votes(folder, index)
    scores_path = _find(folder, "scores.csv")
    if scores_path is None:
        if votes is None:
            raise DatasetNotFoundError(
                f"dataset folder {folder} has neither scores.csv[.gz] nor votes.csv[.gz]"
            )
        models = list(meta.get("models") or [])
        for v in votes:
            for m in (v.model_a, v.model_b):
                if m not in models:
                    models.append(m)
        scores = None
        costs = np.full((len(ids), len(models)), np.nan)
    else:
        models, scores, costs = _load_scores(scores_path, index, meta)

    ds = RoutingDataset(
        name=str(meta.get("name") or folder.name),
        path=folder,
        prompt_ids=tuple(ids),
        prompts=tuple(texts),
        subsets=np.asarray(subsets, dtype=str),
        models=tuple(models),
        scores=scores,
        costs=costs,
        votes=votes,
        meta=meta,
    )
    logger.debug("loaded %r from %s", ds, folder)
    return ds


def _load_scores(path: Path, index: dict[str, int], meta: dict) -> tuple[list[str], np.ndarray, np.ndarray]:
    rows = list(_rows(path, ("prompt_id", "model", "score", "cost_usd")))
    models: list[str] = [m for m in (meta.get("models") or []) if isinstance(m, str)]
    col: dict[str, int] = {m: j for j, m in enumerate(models)}
    for row in rows:
        if row["model"] not in col:
            col[row["model"]] = len(models)
            models.append(row["model"])
    scores = np.full((len(index), len(models)), np.nan)
    costs = np.full((len(index), len(models)), np.nan)
    for row in rows:
        i = index.get(row["prompt_id"])
        if i is None:
            raise DatasetFormatError(f"{path}: prompt_id {row['prompt_id']!r} is not in prompts.csv")
        j = col[row["model"]]
        scores[i, j] = _float_or_nan(row["score"], path, "score")
        costs[i, j] = _float_or_nan(row["cost_usd"], path, "cost_usd")
    if np.any(scores < 0) or np.any(scores > 1):
        raise DatasetFormatError(f"{path}: scores must lie in [0, 1]")
    if np.any(costs < 0):
        raise DatasetFormatError(f"{path}: cost_usd must be >= 0 or empty")
    return models, scores, costs


def _load_votes(folder: Path, index: dict[str, int]) -> tuple[Vote, ...] | None:
    path = _find(folder, "votes.csv")
    if path is None:
        return None
    votes = []
    for row in _rows(path, ("prompt_id", "model_a", "model_b", "winner")):
        if row["prompt_id"] not in index:
            raise DatasetFormatError(f"{path}: prompt_id {row['prompt_id']!r} not in prompts.csv")
        if row["winner"] not in ("model_a", "model_b", "tie"):
            raise DatasetFormatError(
                f"{path}: winner must be 'model_a', 'model_b' or 'tie', got {row['winner']!r}"
            )
        votes.append(
            Vote(
                row["prompt_id"],
                row["model_a"],
                row["model_b"],
                row["winner"],
                row.get("judge") or "",
            )
        )
    return tuple(votes)
