"""PNG plots of a benchmark run (matplotlib, Agg backend; imported lazily)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eagle_core.evaluation._protocol import SubsetResult

__all__ = ["plot_cost_quality", "plot_lambda_curves"]

_STYLE = {
    "eagle": dict(color="tab:red", lw=2.2, marker="o", ms=4, zorder=5),
    "eagle_paper": dict(color="tab:orange", lw=1.5, ls="--", marker="o", ms=3),
    "knn40": dict(color="tab:blue", lw=1.2, marker="s", ms=3),
    "mlp": dict(color="tab:green", lw=1.2, marker="^", ms=3),
    "svm": dict(color="tab:purple", lw=1.2, marker="v", ms=3),
    "single": dict(color="black", lw=1.2, ls=":", marker=".", ms=4),
    "random": dict(color="grey", lw=1.0, ls="-."),
    "oracle": dict(color="gold", lw=1.2, ls="--"),
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _grid(n: int):
    plt = _plt()
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False)
    return plt, fig, axes.ravel()


def _save(plt, fig, unused_axes, title: str, path: Path) -> Path:
    """Hide the grid's spare panels, title, write the PNG and free the figure."""
    for ax in unused_axes:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_lambda_curves(subsets: dict[str, SubsetResult], path: Path, title: str) -> Path:
    """Mean test score vs willingness-to-pay λ (Eagle Fig 2a), one panel per sub-dataset."""
    plt, fig, axes = _grid(len(subsets))
    for ax, (name, sub) in zip(axes, subsets.items(), strict=False):
        for router, c in sub.curves.items():
            ax.plot(range(len(c.lambdas)), c.quality, label=f"{router} ({c.auc:.2f})",
                    **_STYLE.get(router, {}))  # fmt: skip
        ticks = list(range(0, len(sub.curves[next(iter(sub.curves))].lambdas), 3))
        lams = next(iter(sub.curves.values())).lambdas
        ax.set_xticks(ticks, [f"{lams[i]:g}" for i in ticks], fontsize=8)
        ax.set_xlabel("willingness to pay λ (unit-spaced)")
        ax.set_ylabel("mean test score")
        ax.set_title(f"{name} (n_test={sub.n_test})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="router (AUC)", title_fontsize=7)
    return _save(plt, fig, axes[len(subsets) :], title, path)


def plot_cost_quality(subsets: dict[str, SubsetResult], path: Path, title: str) -> Path:
    """Quality vs mean cost per prompt over a dense λ sweep (UniRoute's deferral curve)."""
    plt, fig, axes = _grid(len(subsets))
    for ax, (name, sub) in zip(axes, subsets.items(), strict=False):
        for router, c in sub.dense.items():
            order = np.argsort(c.cost, kind="stable")
            ax.plot(np.asarray(c.cost)[order], np.asarray(c.quality)[order], label=router,
                    **{**_STYLE.get(router, {}), "marker": None})  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("mean cost per prompt (USD, test)")
        ax.set_ylabel("mean test score")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(plt, fig, axes[len(subsets) :], title, path)
