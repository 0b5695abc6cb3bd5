"""The command line: `python -m ganlib train | course | judge`.

For runs outside Jupyter, the way the seed code ran `python wgan.py --path data/...`. Bad input
(a ValueError or FileNotFoundError) prints one sentence and exits with status 2; anything else
is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from . import distributed
from .config import MODELS, TrainConfig
from .outputs import WriteFailed
from .train import TrainingDiverged


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train one GAN and write a run folder",
                       description="Train a GAN; writes DIR/checkpoint.pt, history.csv, "
                       "samples.png, progress.gif and metrics.json.")
    # no defaults here for what a checkpoint keeps: a plain --resume keeps the run's settings
    # (see train_config); a new run takes DEFAULTS and the preset's
    p.add_argument("--model", choices=MODELS, help="default dcgan")
    p.add_argument("--data",
                   help="ring8, grid25, digits5k (default), mnist, fashion-mnist or a folder "
                   "of images")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int,
                        help="train until the run has this many generator steps in all "
                        "(with --resume, earlier sessions count)")
    budget.add_argument("--seconds", type=float,
                        help="train until the run has this many seconds of training in all "
                        "(with --resume, earlier sessions count)")
    p.add_argument("--n-critic", type=int, help="critic steps per generator step")
    p.add_argument("--clip", type=float,
                   help="WGAN weight clipping value c (with wgan-gp, say --gp-lambda too)")
    p.add_argument("--gp-lambda", type=float, help="gradient penalty weight λ")
    p.add_argument("--width", type=int, help="base width of G and the critic")
    p.add_argument("--size", type=int, help="image side, 32 (default) or 64")
    p.add_argument("--channels", type=int, choices=(1, 3), help="1 gray, 3 RGB")
    p.add_argument("--batch-size", type=int,
                   help="samples per step; under torchrun per process (N processes: N x this)")
    p.add_argument("--lr", type=float,
                   help="G's learning rate; the critic's keeps its ratio to G's (the preset's, "
                   "or the run's on --resume: wgan-gp on ring8 trains the critic at 3x, so "
                   "--lr 1e-3 gives it 3e-3)")
    p.add_argument("--seed", type=int, help="default 0")
    p.add_argument("--device", help="auto (default), cpu, cuda or mps")
    p.add_argument("--amp", action="store_true",
                   help="bfloat16 autocast of the forward passes (for GPUs that have it)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the nets (the first steps wait for the compiler)")
    p.add_argument("--critic-norm", choices=("batch", "layer", "instance", "none"),
                   help="the critic's normalisation (WGAN-GP: layer or instance)")
    p.add_argument("--out", default="runs/latest", help="run folder (default runs/latest)")
    p.add_argument("--resume", action="store_true",
                   help="continue DIR/checkpoint.pt with its settings; a flag given with it "
                   "changes that setting (and is printed as a change)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run in DIR (without it or --resume, DIR must hold none)")
    p.add_argument("--checkpoint-every", type=float, metavar="SECONDS",
                   help="write a checkpoint every this many seconds of training (default 60; "
                   "0: only at the end), so a hard kill loses at most that much")
    p.add_argument("--no-metrics", action="store_true", help="skip metrics.json")
    p.add_argument("--tensorboard", metavar="LOG_DIR", help="also log to TensorBoard")


DEFAULTS = {"model": "dcgan", "data": "digits5k"}  # for a new run (the rest: the preset's)


def train_config(args) -> TrainConfig:
    """The run's settings: the preset with the flags given on top or, with --resume and a
    checkpoint in --out, the checkpoint's settings with only the flags given changed (under
    torchrun rank 0 reads them and sends them to the others)."""
    from .config import preset
    from .run import pick_device, saved_config

    given = {k: v for k, v in {
        "model": args.model, "data": args.data, "size": args.size, "seed": args.seed,
        "device": args.device, "steps": args.steps, "seconds": args.seconds,
        "n_critic": args.n_critic, "clip_value": args.clip, "gp_lambda": args.gp_lambda,
        "width": args.width, "batch_size": args.batch_size, "channels": args.channels,
        "log_dir": args.tensorboard, "checkpoint_every": args.checkpoint_every,
        "critic_norm": args.critic_norm, "amp": args.amp or None,
        "compile": args.compile or None}.items() if v is not None}
    saved = None
    if args.resume:
        distributed.join(args.device or "auto")
        path = Path(args.out) / "checkpoint.pt"
        saved = distributed.from_rank0(lambda: saved_config(path) if path.exists() else None)
    if saved is None:
        config = preset(**(DEFAULTS | given))
    else:
        config = saved.replace(**given, **({"seconds": None} if "steps" in given else {}))
    if args.lr is not None:  # G's rate; the critic's keeps its ratio to G's
        config = config.replace(lr_g=args.lr, lr_d=args.lr * config.lr_d / config.lr_g)
    if config.amp and pick_device(config.device).type == "cpu":
        raise ValueError("--amp is for GPUs: on a CPU bfloat16 autocast is slower and changes "
                         "the results; drop --amp")
    return config


def cmd_train(args) -> int:
    from .data import load
    from .evaluate import evaluate_run, format_metrics
    from .outputs import check_out_folder, write_metrics
    from .train import train

    config = train_config(args)
    if args.clip is not None and args.gp_lambda is None and config.gp_lambda > 0:
        raise ValueError(f"--clip with --model {config.model} needs --gp-lambda too: 0 to clip "
                         "instead of the gradient penalty, or L > 0 for both; for the WGAN of "
                         "Arjovsky et al. use --model wgan --clip C")
    lead = distributed.rank() == 0  # under torchrun, rank 0 writes and reports
    out = check_out_folder(args.out, args.resume or args.overwrite, probe=lead)  # before any work
    data = load(config.data, size=config.size, channels=config.channels)
    if distributed.world_size() > 1 and lead:
        n = distributed.world_size()
        print(f"torchrun: {n} processes x batch {config.batch_size} = {n * config.batch_size} "
              "samples per step")
    run = train(config, data, out=out, resume=args.resume, overwrite=args.overwrite)
    distributed.leave()
    if not lead:
        return 128 + run.stopped_by if run.interrupted else 0
    where = f"{run.device.type}" + (f", {run.threads} thread(s)" if run.threads else "")
    where += f" x {run.world} processes" if run.world > 1 else ""
    print(f"trained {run.step} generator steps in {run.elapsed:.1f} s ({where}) -> {out}/")
    if run.interrupted:  # saved; exit as a shell expects of a program stopped by this signal
        return 128 + run.stopped_by
    if not args.no_metrics:
        results = evaluate_run(run, data)
        write_metrics(results, out)
        print(format_metrics(results))
    return 0


def kept(out: str) -> str:
    """What the run folder holds after training diverged, and how to go on from it."""
    from .run import read_checkpoint

    try:
        step = read_checkpoint(out)["step"]
    except (ValueError, FileNotFoundError):
        return f"No checkpoint was written to {out}."
    return (f"{out}/checkpoint.pt holds step {step}: --resume continues from it, --overwrite "
            "starts again.")


def cmd_course(args) -> int:
    from .course import run_course, run_seeds

    notebooks = Path(args.notebooks) if args.notebooks else None
    if args.seeds:
        seeds = parse_seeds(args.seeds)
        by_seed = run_seeds(seeds, out=args.out, smoke=args.smoke, only=args.only,
                            folder=notebooks)
        return 0 if all(r["ok"] for results in by_seed.values() for r in results) else 1
    report = run_course(smoke=args.smoke, out=args.out, only=args.only, folder=notebooks,
                        seed=args.seed)
    # a failed notebook or a failed lesson claim (which fails its notebook) fails the command
    return 0 if all(r["ok"] for r in report) else 1


def parse_seeds(text: str) -> list[int]:
    """'0,1,2' -> [0, 1, 2], or a ValueError naming --seeds."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        seeds = []
    if not seeds or any(seed < 0 for seed in seeds):
        raise ValueError(f"--seeds {text!r} is not a list of seeds; write e.g. --seeds 0,1,2")
    return seeds


def cmd_judge(args) -> int:
    from .judge import load_judge

    judge = load_judge(args.dataset, retrain=args.retrain)
    print(f"held-out accuracy {judge.accuracy:.1%}")
    return 0


# TrainConfig's field names as `train` spells them; plain names (width, steps) only as a first word
FLAGS = {"clip_value": "--clip", "gp_lambda": "--gp-lambda", "lr_g": "--lr", "lr_d": "--lr",
         "n_critic": "--n-critic", "batch_size": "--batch-size", "log_dir": "--tensorboard",
         "checkpoint_every": "--checkpoint-every", "critic_norm": "--critic-norm"}
PLAIN = ("width", "steps", "seconds", "size", "channels", "seed", "device")


def flag_names(message: str) -> str:
    """A config error as the command line's user knows it: with flags, not field names."""
    message = re.sub(r"\b(" + "|".join(FLAGS) + r")\b", lambda m: FLAGS[m.group(1)], message)
    return re.sub(r"^(" + "|".join(PLAIN) + r")\b", r"--\1", message)


class OneLineErrors(argparse.ArgumentParser):
    """argparse, with its errors in one line (no usage text before them), as ours are."""

    def error(self, message: str):
        self.exit(2, f"error: {message}; see {self.prog} --help\n")


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrors(prog="python -m ganlib", description=__doc__.split("\n")[0])
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
    c.add_argument("--seeds", metavar="LIST",
                   help="run the course once per seed, e.g. 0,1,2, into OUT/seed-N, and write "
                   "OUT/claims_by_seed.md: every claim against every seed, with its margin")
    j = sub.add_parser("judge", help="train (once) and show the offline digit judge")
    j.add_argument("--dataset", default="digits5k")
    j.add_argument("--retrain", action="store_true")
    args = parser.parse_args(argv)
    commands = {"train": cmd_train, "course": cmd_course, "judge": cmd_judge}
    try:
        return commands[args.command](args)
    except (ValueError, FileNotFoundError) as e:  # bad input; every rank has it, rank 0 says it
        if distributed.rank() == 0:
            print(f"error: {flag_names(str(e)) if args.command == 'train' else e}",
                  file=sys.stderr)
        return 2
    except WriteFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except TrainingDiverged as e:  # its own sentence, then what the run folder kept
        print(f"error: training diverged: {e} {kept(args.out)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
