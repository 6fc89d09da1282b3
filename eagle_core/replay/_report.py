"""results.json, results.md and PNG plots of a replay run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["plot_regret", "plot_share", "to_markdown", "write_results"]


def _pm(stat: dict | None, scale: float = 1.0, digits: int = 3) -> str:
    if not stat:
        return "–"
    return f"{stat['mean'] * scale:.{digits}f} ± {stat['se'] * scale:.{digits}f}"


def _scenario_table(name: str, sc: dict, budget: bool, models: list[str]) -> list[str]:
    ref = sc["references"]
    unit = "mean grade" if budget else "utility ×1000"
    scale = 1.0 if budget else 1000.0
    regret = "regret vs oracle" + ("" if budget else " (USD)")
    lines = [f"#### {name} ({sc['steps']} steps)", "",
             f"| router | {unit} | {regret} | headroom captured | grade | cost ×1000 | "
             f"{'overshoot | ' if budget else ''}explored | step ms p50 |",
             "|---|---|---|---|---|---|" + ("---|" if budget else "") + "---|---|"]  # fmt: skip
    for rname, st in sc["routers"].items():
        lines.append(
            f"| {rname} | {_pm(st.get('utility'), scale)} | {_pm(st.get('regret'), 1.0, 1)} | "
            f"{_pm(st.get('headroom'), 1.0, 2)} | {_pm(st.get('grade'))} | {_pm(st.get('cost'), 1000.0)} | "
            + (f"{_pm(st.get('overshoot'), 100.0, 1)} % | " if budget else "")
            + f"{_pm(st.get('n_explored'), 1.0, 0)} | {_pm(st.get('step_ms_p50'), 1.0, 3)} |"
        )  # fmt: skip
    for label, key in (("oracle", "oracle"), (f"best fixed ({ref['fixed_model']})", "fixed")):
        lines.append(f"| *{label}* | {_pm(ref.get(f'{key}_utility'), scale)} | | | "
                     f"{_pm(ref.get(f'{key}_grade'))} | {_pm(ref.get(f'{key}_cost'), 1000.0)} |"
                     + (" |" if budget else "") + " | |")  # fmt: skip
    extra = _events_table(sc)
    return lines + ([""] + extra if extra else []) + [""] + _thirds_table(sc, models) + [""]


def _thirds_table(sc: dict, models: list[str]) -> list[str]:
    """Traffic share (%) of the scenario's focus model in each third of the stream."""
    focus = sc["references"]["focus_model"]
    j = models.index(focus)
    rows = [f"| {r} | " + " | ".join(f"{100 * t[j]:.1f}" for t in st["share_thirds"]) + " |"
            for r, st in sc["routers"].items()]  # fmt: skip
    oracle = sc["references"]["oracle_share_thirds"]
    rows.append("| *oracle* | " + " | ".join(f"{100 * t[j]:.1f}" for t in oracle) + " |")
    return [f"Traffic share % of {focus} per third of the stream:", "",
            "| router | 1st third | 2nd third | 3rd third |", "|---|---|---|---|", *rows]


def _events_table(sc: dict) -> list[str]:
    rows = []
    for rname, st in sc["routers"].items():
        if "drift_share_before" in st:
            rows.append(f"| {rname} | {_pm(st['drift_share_before'], 100, 1)} | "
                        f"{_pm(st.get('drift_share_after'), 100, 1)} | "
                        f"{_pm(st.get('drift_regret_before'), 1000, 2)} | "
                        f"{_pm(st.get('drift_regret_after_repair'), 1000, 2)} |")  # fmt: skip
        elif "newcomer_final_share" in st:
            rows.append(f"| {rname} | {_pm(st['newcomer_final_share'], 100, 1)} | "
                        f"{_pm(st.get('newcomer_steps_to_80pct'), 1, 0)} | "
                        f"{_pm(st.get('newcomer_tries_first_20'), 1, 1)} |")  # fmt: skip
    if not rows:
        return []
    focus = sc["references"]["focus_model"]
    if "drift_share_before" in next(iter(sc["routers"].values())):
        head = [f"Degraded model {focus}: traffic share % before the drop / 150-300 steps after it; "
                "per-step regret ×1000 before the drop / 150-300 steps after the repair.", "",
                "| router | share before % | share after % | regret before | regret after repair |",
                "|---|---|---|---|---|"]  # fmt: skip
    else:
        head = [f"Newcomer {focus}: traffic share % over the last third; steps after joining until its "
                "50-step share first reaches 80 % of that; times served in its first 20 steps.", "",
                "| router | final share % | steps to 80 % | tries in first 20 |", "|---|---|---|---|"]
    return head + rows


def to_markdown(results: dict) -> str:
    out = ["# Online replay", ""]
    st = results["settings"]
    out += [f"Scenarios {', '.join(st['scenarios'])}; {st['seeds']} seeds (mean ± s.e.); routers "
            f"{', '.join(st['routers'])}.", ""]  # fmt: skip
    for ds, entry in results["datasets"].items():
        out += [f"### {ds}", "", f"{len(entry['models'])} models, {entry['stream_length']} steps per "
                f"stream, willingness to pay {entry['wtp']:.4g} USD per unit of grade.", ""]  # fmt: skip
        for name, sc in entry["scenarios"].items():
            budget = sc["references"].get("target_cost") is not None
            out += _scenario_table(name, sc, budget, entry["models"])
    return "\n".join(out)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _grid(results: dict, ds: str, key: str, ylabel: str, path: Path) -> Path:
    plt = _plt()
    scen = results["datasets"][ds]["scenarios"]
    cols = min(len(scen), 3)
    rows = (len(scen) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    for ax, (name, sc) in zip(axes.ravel(), scen.items(), strict=False):
        steps = sc["steps"]
        for rname, curve in sc["curves"].items():
            y = np.asarray(curve[key])
            x = np.linspace(0, steps - 1, len(y))
            ax.plot(x, y, lw=2.2 if rname.startswith("eagle") else 1.2, label=rname)
        for ev in sc["references"].get("events", []):
            ax.axvline(ev, color="grey", ls=":", lw=1)
        title = name if key == "regret" else f"{name}: {sc['references']['focus_model']}"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(scen):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle(f"{ds}: {ylabel}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_regret(results: dict, ds: str, path: Path) -> Path:
    """Cumulative regret against the per-step oracle, one panel per scenario (mean over seeds)."""
    return _grid(results, ds, "regret", "cumulative regret vs oracle", path)


def plot_share(results: dict, ds: str, path: Path) -> Path:
    """Traffic share (100-step rolling) of the scenario's focus model: the degraded model (drift),
    the newcomer, else the best fixed model."""
    return _grid(results, ds, "share", "traffic share of focus model", path)


def write_results(results: dict, out: str | Path, *, plots: bool = True) -> list[Path]:
    """Write results.json, results.md and (``plots``) regret_<ds>.png / share_<ds>.png under ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results, indent=1))
    (folder / "results.md").write_text(to_markdown(results))
    written = [folder / "results.json", folder / "results.md"]
    if plots:
        for ds in results["datasets"]:
            written.append(plot_regret(results, ds, folder / f"regret_{ds}.png"))
            written.append(plot_share(results, ds, folder / f"share_{ds}.png"))
    return written
