"""The command line: `python -m ganlib train | course | bench | judge`.

For runs outside Jupyter, the way the seed code ran `python wgan.py --path data/...`. Errors
print one sentence (no traceback) and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import MODELS


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train one GAN and write a run folder",
                       description="Train a GAN; writes DIR/checkpoint.pt, history.csv, "
                       "samples.png, progress.gif and metrics.json.")
    p.add_argument("--model", choices=MODELS, default="dcgan")
    p.add_argument("--data", default="digits5k",
                   help="ring8, grid25, digits5k, mnist, fashion-mnist or a folder of images")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="generator steps")
    budget.add_argument("--seconds", type=float, help="wall-clock budget in seconds")
    p.add_argument("--n-critic", type=int, help="critic steps per generator step")
    p.add_argument("--clip", type=float, help="WGAN weight clipping value c")
    p.add_argument("--gp-lambda", type=float, help="gradient penalty weight λ")
    p.add_argument("--width", type=int, help="base width of G and the critic")
    p.add_argument("--size", type=int, choices=(32, 64), default=32, help="image side")
    p.add_argument("--channels", type=int, choices=(1, 3), help="1 gray, 3 RGB")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="learning rate of both G and the critic")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--out", default="runs/latest", help="run folder (default runs/latest)")
    p.add_argument("--resume", action="store_true", help="continue DIR/checkpoint.pt")
    p.add_argument("--no-metrics", action="store_true", help="skip metrics.json")
    p.add_argument("--tensorboard", metavar="LOG_DIR", help="also log to TensorBoard")


def cmd_train(args) -> int:
    from .config import preset
    from .data import load
    from .evaluate import evaluate_run, format_metrics
    from .outputs import write_metrics
    from .train import train

    overrides = {k: v for k, v in {
        "steps": args.steps, "seconds": args.seconds, "n_critic": args.n_critic,
        "clip_value": args.clip, "gp_lambda": args.gp_lambda, "width": args.width,
        "batch_size": args.batch_size, "lr_g": args.lr, "lr_d": args.lr,
        "channels": args.channels, "log_dir": args.tensorboard}.items() if v is not None}
    if args.clip is not None and args.model == "wgan-gp" and args.gp_lambda is None:
        overrides["gp_lambda"] = 0.0
    config = preset(args.model, args.data, size=args.size, seed=args.seed, device=args.device,
                    **overrides)
    data = load(args.data, size=config.size, channels=config.channels)
    out = Path(args.out)
    run = train(config, data, out=out, resume=args.resume)
    where = f"{run.device.type}" + (f", {run.threads} thread(s)" if run.threads else "")
    print(f"trained {run.step} generator steps in {run.elapsed:.1f} s ({where}) -> {out}/")
    if not args.no_metrics:
        results = evaluate_run(run, data)
        write_metrics(results, out)
        print(format_metrics(results))
    return 0


def cmd_course(args) -> int:
    from .course import run_course

    notebooks = Path(args.notebooks) if args.notebooks else None
    report = run_course(smoke=args.smoke, out=args.out, only=args.only, folder=notebooks,
                        seed=args.seed)
    # a failed notebook or a failed lesson claim (which fails its notebook) fails the command
    return 0 if all(r["ok"] for r in report) else 1


def cmd_bench(args) -> int:
    from . import bench

    return bench.main(args.bench_args)


def cmd_judge(args) -> int:
    from .judge import load_judge

    judge = load_judge(args.dataset, retrain=args.retrain)
    print(f"held-out accuracy {judge.accuracy:.1%}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganlib", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    c = sub.add_parser("course", help="run all six notebooks with papermill + an HTML report",
                       description="Run the course's notebooks with papermill and write "
                       "report.html: each lesson's claims (pass/FAIL), key numbers and pictures. "
                       "Exits 1 when a notebook or a claim fails.")
    c.add_argument("--smoke", action="store_true",
                   help="every cell at tiny budgets: checks that the notebooks run, not their "
                   "lessons (about 2 minutes on a quiet 2-core CPU)")
    c.add_argument("--out", help="folder for executed notebooks and report.html")
    c.add_argument("--only", help="comma-separated notebook numbers or names, e.g. 01,03")
    c.add_argument("--notebooks", metavar="DIR",
                   help="run the NN_*.ipynb notebooks in DIR (e.g. your own edited copies) "
                   "instead of the course's")
    c.add_argument("--seed", type=int,
                   help="seed for every notebook (default: each notebook's own)")
    # bench parses its own options (`python -m ganlib bench --help` lists them)
    sub.add_parser("bench", help="speed and time-to-quality benchmark", add_help=False)
    j = sub.add_parser("judge", help="train (once) and show the offline digit judge")
    j.add_argument("--dataset", default="digits5k")
    j.add_argument("--retrain", action="store_true")
    args, extra = parser.parse_known_args(argv)
    if args.command == "bench":
        args.bench_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    commands = {"train": cmd_train, "course": cmd_course, "bench": cmd_bench,
                "judge": cmd_judge}
    try:
        return commands[args.command](args)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
