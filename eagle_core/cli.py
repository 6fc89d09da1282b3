"""The ``eagle`` command line.

``eagle bench --data DIR --out OUT`` runs the evaluation harness (see docs/BENCHMARKS.md);
``eagle replay --data DIR --out OUT`` replays the data as production traffic with partial feedback
(:mod:`eagle_core.replay`).

Extension hook (used by ``eagle_core.evaluation.unseen`` for ``--unseen/--trials``): any module
listed in ``BENCH_EXTENSIONS`` that can be imported may define

* ``add_arguments(parser: argparse.ArgumentParser) -> None``: add flags to ``eagle bench``;
* ``extend_results(args: argparse.Namespace, ctx: BenchContext) -> None``: called after the
  standard run with the loaded datasets, cached embeddings, the results dict (add keys to it,
  e.g. ``ctx.results["unseen"] = ...``) and the output folder, before results are written.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["BENCH_EXTENSIONS", "build_parser", "main"]

BENCH_EXTENSIONS: tuple[str, ...] = ("eagle_core.evaluation.unseen",)


def _extensions() -> list[ModuleType]:
    mods = []
    for name in BENCH_EXTENSIONS:
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the extension exists but one of its imports failed
                raise
    return mods


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        required=True,
        help="a dataset folder (e.g. .../routerbench) or the data root holding several",
    )
    p.add_argument("--out", required=True, help="output folder for results.json/.md and plots")
    p.add_argument(
        "--datasets", nargs="+", metavar="NAME", help="only these dataset folders under --data (default: all)"
    )
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="at most N seeded-random prompts per sub-dataset; 0 = no cap "
        "(default: 2000 for routellm, none elsewhere)",
    )
    p.add_argument(
        "--routers",
        nargs="+",
        metavar="NAME",
        help="subset of: eagle eagle_paper knn40 mlp svm single random oracle",
    )
    p.add_argument(
        "--backend",
        choices=("auto", "engine", "numpy"),
        default="auto",
        help="Eagle routers: the real engine (default when importable) or numpy",
    )
    p.add_argument("--eagle-config", metavar="JSON|recommended", default=None,
                   help="override fields of the 'eagle' router's EagleConfig (JSON object), or "
                        "'recommended' for the validation-chosen settings; default: the shipped "
                        "EagleConfig()")  # fmt: skip
    p.add_argument("--seed", type=int, default=42, help="split seed (RouterBench: 42)")
    p.add_argument("--no-online", action="store_true", help="skip the online simulation")
    p.add_argument("--no-votes", action="store_true", help="skip the human-votes evaluation")
    p.add_argument("--judges", nargs="+", metavar="NAME", default=["human"],
                   help="votes evaluation: whose votes count, as named in votes.csv's judge column "
                        "(default: human; 'all' for every judge)")  # fmt: skip
    p.add_argument("--no-plots", action="store_true", help="do not write PNG plots")
    p.add_argument(
        "--truncation",
        choices=("left", "right"),
        default="left",
        help="which end of over-long prompts the embedder keeps (default left: "
        "RouterBench prompts start with a shared few-shot prefix)",
    )
    _add_embedder_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")  # fmt: skip


def build_parser(extensions: Sequence[ModuleType] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eagle", description="eagle-router command line")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="evaluate routers on router-evaluation data",
                           description="Eagle-paper protocol, baselines, online and votes "
                                       "simulations; writes OUT/results.json, results.md, PNGs")  # fmt: skip
    add_bench_arguments(bench)
    for ext in extensions:
        if hasattr(ext, "add_arguments"):
            ext.add_arguments(bench)
    bench.set_defaults(func=_cmd_bench)
    rep = sub.add_parser("replay", help="online replay: partial, sparse, drifting feedback",
                         description="Replay router-evaluation data as production traffic: each "
                                     "router learns only the served answer's grade; writes "
                                     "OUT/results.json, results.md, regret_*.png, share_*.png")  # fmt: skip
    add_replay_arguments(rep)
    rep.set_defaults(func=_cmd_replay)
    return parser


def add_replay_arguments(p: argparse.ArgumentParser) -> None:
    from eagle_core.replay import DEFAULT_SCENARIOS, ROUTERS, SCENARIOS

    p.add_argument("--data", required=True, help="a dataset folder or the data root holding several")
    p.add_argument("--out", required=True, help="output folder for results.json/.md and plots")
    p.add_argument("--datasets", nargs="+", metavar="NAME", help="only these dataset folders under --data")
    p.add_argument("--scenarios", nargs="+", metavar="NAME", default=list(DEFAULT_SCENARIOS),
                   help=f"subset of: {' '.join(SCENARIOS)} (default: {' '.join(DEFAULT_SCENARIOS)})")
    p.add_argument("--seeds", type=int, default=10, help="stream orders per scenario (default 10)")
    p.add_argument("--routers", nargs="+", metavar="NAME",
                   help=f"subset of: {' '.join(ROUTERS)} (default: all but eagle_engine)")
    p.add_argument("--wtp", type=float, default=None, metavar="USD",
                   help="willingness to pay, USD per unit of grade (default: 4 x cost / grade of the "
                        "highest-grade model, per dataset)")
    p.add_argument("--length", type=int, default=None, metavar="N",
                   help="at most N steps per stream (default: every prompt once)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="use at most N seeded-random prompts per sub-dataset (default: all)")
    p.add_argument("--truncation", choices=("left", "right"), default="left",
                   help="which end of over-long prompts the embedder keeps (default left)")
    _add_embedder_argument(p)
    p.add_argument("--no-plots", action="store_true", help="do not write PNG plots")
    p.add_argument("--quiet", action="store_true", help="no progress bars")  # fmt: skip


def _add_embedder_argument(p: argparse.ArgumentParser) -> None:
    from eagle_core.evaluation._cache import BACKENDS

    p.add_argument("--embedder", choices=BACKENDS, default="torch",
                   help="the bundled MiniLM on torch (default), on ONNX Runtime (same vectors, same "
                        "cache), or its int8 copy (other vectors, cached apart); onnx needs "
                        "eagle-router[onnx]")  # fmt: skip


def _cmd_replay(args: argparse.Namespace, extensions: Sequence[ModuleType]) -> int:
    from eagle_core.datasets import DatasetError, load_dataset
    from eagle_core.evaluation._bench import resolve_data
    from eagle_core.evaluation._cache import bundled_embedder
    from eagle_core.replay import ReplayError, run_replay
    from eagle_core.replay._report import write_results

    try:
        folders = resolve_data(args.data, args.datasets)
        loaded = [load_dataset(f).sample_per_subset(args.limit, seed=0) for f in folders.values()]
        loaded = [ds for ds in loaded if ds.has_scores]
        if not loaded:
            raise ReplayError(f"--data {args.data} holds no dataset with scores.csv to replay")
        embedder = bundled_embedder(args.embedder, truncation=args.truncation, progress=not args.quiet)
        data = [(ds, embedder(list(ds.prompts))) for ds in loaded]
        results = run_replay(data, scenarios=args.scenarios, seeds=args.seeds, routers=args.routers,
                             wtp=args.wtp, length=args.length, progress=not args.quiet)  # fmt: skip
    except (DatasetError, ReplayError, ValueError) as exc:
        print(f"eagle replay: {exc}", file=sys.stderr)
        return 2
    write_results(results, args.out, plots=not args.no_plots)
    for ds, entry in results["datasets"].items():
        for name, sc in entry["scenarios"].items():
            best = max(sc["routers"].items(), key=lambda kv: kv[1]["utility"]["mean"])
            print(f"{ds} {name}: best {best[0]} (headroom captured "
                  f"{best[1].get('headroom', {}).get('mean', float('nan')):.2f})")  # fmt: skip
    print(f"wrote {args.out}/results.json and results.md")
    return 0


def _cmd_bench(args: argparse.Namespace, extensions: Sequence[ModuleType]) -> int:
    from eagle_core.datasets import DatasetError
    from eagle_core.evaluation._bench import run_bench
    from eagle_core.evaluation._cache import bundled_embedder
    from eagle_core.evaluation._eagle_router import eagle_factories
    from eagle_core.evaluation._protocol import BASELINES
    from eagle_core.evaluation._votes import JudgeSelectionError

    try:
        overrides = _eagle_overrides(args.eagle_config)
    except ValueError as exc:
        print(f"eagle bench: {exc}", file=sys.stderr)
        return 2
    routers = {**eagle_factories(args.backend, overrides), **BASELINES}
    if args.routers:
        unknown = [r for r in args.routers if r not in routers]
        if unknown:
            print(f"eagle bench: unknown router(s) {unknown}; choose from {list(routers)}",
                  file=sys.stderr)  # fmt: skip
            return 2
        routers = {r: routers[r] for r in args.routers}
    embedder = bundled_embedder(args.embedder, truncation=args.truncation, progress=not args.quiet)
    try:
        results = run_bench(
            args.data, args.out, datasets=args.datasets, limit=args.limit, routers=routers,
            embedder=embedder, online=not args.no_online, votes=not args.no_votes,
            plots=not args.no_plots, seed=args.seed, progress=not args.quiet,
            extensions=[e for e in extensions if hasattr(e, "extend_results")],
            extension_args=args, eagle_overrides=overrides,
            judges=None if args.judges == ["all"] else tuple(args.judges),
        )  # fmt: skip
    except (DatasetError, JudgeSelectionError) as exc:
        print(f"eagle bench: {exc}", file=sys.stderr)
        return 2
    if "total_auc" in results:
        print("total AUC: " + ", ".join(f"{r} {v:.3f}" for r, v in results["total_auc"].items()))
    if "votes" in results:
        v = results["votes"]
        print(f"votes: accuracy global {v['accuracy']['global']:.3f} eagle "
              f"{v['accuracy']['eagle']:.3f}")  # fmt: skip
    print(f"wrote {args.out}/results.json and results.md")
    return 0


def _eagle_overrides(text: str | None) -> dict | None:
    import json

    from eagle_core.evaluation._eagle_router import RECOMMENDED

    if text is None:
        return None
    if text == "recommended":
        return dict(RECOMMENDED)
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ValueError(
            f"--eagle-config must be a JSON object of EagleConfig fields or 'recommended', got {text!r}"
        )
    from eagle_core import EagleConfig

    try:
        EagleConfig().replace(**value)  # validates names and values now, not mid-run
    except TypeError as exc:
        raise ValueError(f"--eagle-config has an unknown EagleConfig field: {exc}") from None
    return value


def main(argv: Sequence[str] | None = None) -> int:
    extensions = _extensions()
    args = build_parser(extensions).parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    return args.func(args, extensions)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
