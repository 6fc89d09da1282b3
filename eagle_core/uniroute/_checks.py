"""Input checks shared by the UniRoute estimators (each error names the parameter and what it got)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from eagle_core._errors import ConfigError, InvalidFeedbackError


def _matrix(name: str, value: object, *, dim: int | None = None) -> np.ndarray:
    """A finite (n, d) float array with rows L2-normalised, or a ConfigError naming ``name``."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 1 and dim is not None and arr.shape[0] == dim:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ConfigError(f"{name} must be a non-empty (n, d) array, got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ConfigError(
            f"{name} must have {dim} columns (the dimension seen in fit), got {arr.shape[1]}"
        )
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{name} must be finite (no NaN/inf)")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return arr / np.where(norms == 0.0, 1.0, norms)


def _unit_values(name: str, value: object, n: int, *, columns: bool = False) -> np.ndarray:
    """Values in [0, 1]: shape (n,) or, with ``columns``, (n, m); InvalidFeedbackError otherwise."""
    arr = np.asarray(value, dtype=np.float64)
    ok_shape = arr.ndim == 2 and arr.shape[0] == n if columns else arr.shape == (n,)
    if not ok_shape:
        want = f"({n}, n_models)" if columns else f"({n},)"
        raise InvalidFeedbackError(f"{name} must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0.0) or np.any(arr > 1.0):
        raise InvalidFeedbackError(f"{name} must hold finite values in [0, 1]")
    return arr


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"model name must be a non-empty string, got {name!r}")
    return name


def _candidates(name: str, value: int | Sequence[int] | None, default: list[int]) -> list[int]:
    values = default if value is None else [value] if isinstance(value, int) else list(value)
    if not values or any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values):
        raise ConfigError(f"{name} must be an int >= 1, a sequence of them, or None; got {value!r}")
    return sorted(set(values))



def _check_smoothing(value: object) -> None:
    ok = value == "auto" or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < math.inf
    )
    if not ok:
        raise ConfigError(f"smoothing must be a finite number >= 0 or 'auto', got {value!r}")


def _costs(costs: object, m: int) -> np.ndarray:
    c = np.asarray(costs, dtype=np.float64)
    if c.shape != (m,) or not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ConfigError(f"costs must be {m} finite values >= 0 (one per model), got {costs!r}")
    return c


def _validation_split(
    x: np.ndarray,
    e: np.ndarray,
    val_x: np.ndarray | None,
    val_e: np.ndarray | None,
    fraction: float,
    seed: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The caller's validation set, or one carved from the training prompts (never the test set)."""
    if val_x is not None:
        if val_e is None:
            raise ConfigError("val_errors is required when val_embeddings is given")
        val_x = _matrix("val_embeddings", val_x, dim=x.shape[1])
        val_e = _unit_values("val_errors", val_e, len(val_x), columns=True)
        if val_e.shape[1] != e.shape[1]:
            raise ConfigError(
                f"val_errors must have {e.shape[1]} columns (one per training model), "
                f"got {val_e.shape[1]}"
            )
        return x, e, val_x, val_e
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"val_fraction must be in (0, 1), got {fraction!r}")
    perm = np.random.default_rng(seed).permutation(len(x))
    cut = max(1, int(round(fraction * len(x))))
    if cut >= len(x):
        raise ConfigError(f"need at least 2 training prompts to carve a validation split, got {len(x)}")
    return x[perm[cut:]], e[perm[cut:]], x[perm[:cut]], e[perm[:cut]]

