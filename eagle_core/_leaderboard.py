"""A readable table of the global ratings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eagle_core._state import View

__all__ = ["Leaderboard", "LeaderboardRow", "leaderboard_of"]


@dataclass(frozen=True)
class LeaderboardRow:
    model: str
    rating: float
    matches: int
    wins: int
    losses: int
    draws: int
    cost: float | None
    """USD per call (``None`` when unknown or priced per token)."""


@dataclass(frozen=True)
class Leaderboard:
    """Global ratings, best first; ``str()`` gives an aligned text table."""

    rows: tuple[LeaderboardRow, ...]

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def as_dict(self) -> dict[str, float]:
        return {row.model: row.rating for row in self.rows}

    def __str__(self) -> str:
        header = ("#", "model", "rating", "matches", "W", "L", "D", "USD/call")
        lines = [
            (str(i), r.model, f"{r.rating:.1f}", str(r.matches), str(r.wins), str(r.losses),
             str(r.draws), "?" if r.cost is None else f"{r.cost:.6g}")
            for i, r in enumerate(self.rows, 1)
        ]
        widths = [max(len(row[c]) for row in [header, *lines]) for c in range(len(header))]
        fmt = "  ".join(f"{{:<{w}}}" if c == 1 else f"{{:>{w}}}" for c, w in enumerate(widths))
        out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
        out.extend(fmt.format(*row) for row in lines)
        return "\n".join(out)

    __repr__ = __str__


def leaderboard_of(view: View) -> Leaderboard:
    """The leaderboard of a published state: global ratings, best first, with match counts."""
    rows = [LeaderboardRow(m, r, *view.stats[m],
                           cost=view.costs[m] if isinstance(view.costs[m], float) else None)
            for m, r in view.ratings.items()]
    rows.sort(key=lambda row: (-row.rating, row.model))
    return Leaderboard(tuple(rows))
