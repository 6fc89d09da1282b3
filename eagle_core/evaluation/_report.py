"""JSON and Markdown renderings of a benchmark run."""

from __future__ import annotations

from typing import Any

from eagle_core.evaluation._protocol import SubsetResult

__all__ = ["render_markdown", "subset_json"]

ORDER = ("eagle", "eagle_paper", "knn40", "mlp", "svm", "single", "random", "oracle")


def subset_json(sub: SubsetResult) -> dict[str, Any]:
    return {
        "auc": sub.auc(),
        "uniroute": sub.uniroute(),
        "n_train": sub.n_train,
        "n_test": sub.n_test,
        "models": list(sub.models),
        "excluded_models_unknown_cost": list(sub.excluded_models),
        "curves": {
            r: {"quality": c.quality.tolist(), "cost": c.cost.tolist()} for r, c in sub.curves.items()
        },
        "dense_curves": {
            r: {"lambdas": list(c.lambdas), "quality": c.quality.tolist(), "cost": c.cost.tolist()}
            for r, c in sub.dense.items()
        },
        "timing_s": sub.timing_s,
    }


def _routers(d: dict[str, Any]) -> list[str]:
    return [r for r in ORDER if r in d] + [r for r in d if r not in ORDER]


def _fmt(v: Any, nd: int = 3) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v == float("inf"):
        return "∞"
    return f"{v:.{nd}f}"


def render_markdown(results: dict[str, Any]) -> str:
    lines = ["# eagle bench results", ""]
    ds = results.get("datasets", {})
    if ds:
        routers = _routers(results["total_auc"])
        lines += ["## AUC (Eagle-paper protocol: unit-spaced trapezoid over 16 λ)", ""]
        lines.append("| dataset | " + " | ".join(routers) + " |")
        lines.append("|---" * (len(routers) + 1) + "|")
        for name, d in ds.items():
            best = max(d["auc"][r] for r in routers if r != "oracle")
            cells = [
                f"**{d['auc'][r]:.3f}**" if d["auc"][r] == best and r != "oracle"
                else f"{d['auc'][r]:.3f}"
                for r in routers
            ]  # fmt: skip
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("| **total** | " + " | ".join(f"{results['total_auc'][r]:.3f}" for r in routers) + " |")
        lines += ["", "## UniRoute view: deferral area / area up to 50% cost / QNC", ""]
        lines.append("| dataset | " + " | ".join(routers) + " |")
        lines.append("|---" * (len(routers) + 1) + "|")
        for name, d in ds.items():
            u = d["uniroute"]
            cells = [
                f"{_fmt(u[r]['area'])} / {_fmt(u[r]['area_50'])} / {_fmt(u[r]['qnc'], 2)}" for r in routers
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        excluded = {n: d["excluded_models_unknown_cost"] for n, d in ds.items()}
        if any(excluded.values()):
            lines += ["", "Models with unknown cost, left out of every cost-aware curve: "
                      + "; ".join(f"{n}: {', '.join(m)}" for n, m in excluded.items() if m)]  # fmt: skip
    timing = results.get("timing_s")
    if timing:
        stages = sorted({s for st in timing.values() for s in st})
        lines += ["", "## Timing (seconds, embeddings excluded)", ""]
        lines.append("| router | " + " | ".join(stages) + " |")
        lines.append("|---" * (len(stages) + 1) + "|")
        for r in _routers(timing):
            lines.append(
                f"| {r} | " + " | ".join(_fmt(timing[r].get(s, float('nan')), 4) for s in stages)
                + " |"
            )  # fmt: skip
    summary = results.get("online_summary")
    if summary:
        lines += ["", "## Online updates (+15% of the training data, summed over sub-datasets)", ""]
        lines.append("| data | stage | eagle: engine ingest | eagle: ratings only | fastest retrain "
                     "| fastest trained retrain | speed-up engine / ratings only vs trained |")  # fmt: skip
        lines.append("|---|---|---|---|---|---|---|")
        nan = float("nan")
        for folder, s in summary.items():
            for stage, row in s["updates"].items():
                lines.append(
                    f"| {folder} | {stage} | {row['eagle_s']:.4f}s | "
                    f"{row.get('eagle_ratings_only_s', nan):.4f}s | {row['fastest_baseline']} "
                    f"{row['fastest_baseline_s']:.4f}s | "
                    f"{row.get('fastest_trained_baseline', '-')} "
                    f"{row.get('fastest_trained_baseline_s', nan):.4f}s | "
                    f"{row.get('speedup_vs_fastest_trained', nan):.0f}× / "
                    f"{row.get('ratings_only_speedup_vs_fastest_trained', nan):.0f}× |"
                )
    votes = results.get("votes")
    if votes:
        lines += ["", f"## Human votes ({votes.get('dataset', '')})", ""]
        lines += ["| predictor | accuracy | log-loss |", "|---|---|---|"]
        for k in ("global", "eagle"):
            lines.append(f"| {k} | {votes['accuracy'][k]:.4f} | {votes['log_loss'][k]:.4f} |")
        lines.append(
            f"\n{votes.get('n_train_votes')} training votes on {votes.get('n_train_prompts')} "
            f"prompts; {votes.get('n_test_votes')} held-out human votes on "
            f"{votes.get('n_test_prompts')} prompts ({votes.get('n_test_ties_excluded')} ties "
            "excluded)."
        )
    cfg = results.get("config")
    if cfg:
        lines += ["", "## Run configuration", "", "```json"]
        import json

        lines += [json.dumps(cfg, indent=1, default=str), "```"]
    for p in results.get("plots", []):
        lines += ["", f"![{p}]({p})"]
    return "\n".join(lines) + "\n"
