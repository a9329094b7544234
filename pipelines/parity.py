"""Accuracy parity of `train.precision`: the demo's baseline and DA-SSDP, fp32 vs bf16, N seeds.

    python pipelines/parity.py [--seeds 0 1 2] [--precisions fp32 bf16] [--out runs/parity] [--set k=v ...]

Trains the demo config once per (seed, mode, precision), interleaved by seed so that partial
results are usable, evaluates only at the end, and appends one JSON line per run to
`<out>/results.jsonl`; prints mean +- std of the test top-1 per (mode, precision).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from eventsnn.config import load_config
from eventsnn.demo import DEFAULT_CONFIG
from eventsnn.engine.jobs import train_job


def summarize(rows: list[dict]) -> dict[str, dict[str, float]]:
    """`"<mode> <precision>" -> {mean, std, n}` of the test top-1 (std: sample std, 0 for n=1)."""
    groups: dict[str, list[float]] = {}
    for r in rows:
        groups.setdefault(f"{r['mode']} {r['precision']}", []).append(r["top1"])
    return {
        k: {"mean": statistics.fmean(v), "std": statistics.stdev(v) if len(v) > 1 else 0.0, "n": len(v)}
        for k, v in groups.items()
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=DEFAULT_CONFIG)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    p.add_argument("--modes", nargs="+", default=["off", "da_ssdp"])
    p.add_argument("--out", default="runs/parity")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in args.seeds:
        for mode in args.modes:
            for precision in args.precisions:
                name = f"{mode}_{precision}_s{seed}"
                over = [
                    *args.overrides,
                    f"train.seed={seed}",
                    f"train.precision={precision}",
                    f"plasticity.mode={mode}",
                    f"output.root={out}",
                    f"output.name={name}",
                ]
                cfg = load_config(args.config, over)
                t0 = time.perf_counter()
                result = train_job(cfg, out / name, overwrite=True)
                row = {
                    "seed": seed,
                    "mode": mode,
                    "precision": precision,
                    "top1": result.final_eval.top1,
                    "seconds": time.perf_counter() - t0,
                    "overrides": over,
                }
                rows.append(row)
                with open(out / "results.jsonl", "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    for key, s in summarize(rows).items():
        print(f"{key:<16} top-1 {s['mean']:.2f} +- {s['std']:.2f} (n={s['n']})")


if __name__ == "__main__":
    main()
