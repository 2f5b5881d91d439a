#!/usr/bin/env python
"""Train and evaluate on every split of a multi-split dataset (iLIDS-VID, PRID2011) and
report each split and their mean, the protocol these datasets are published with.

    python tools/run_splits.py --config-file configs/CTL_iLIDSVID.yml [--splits 0 1 ...] [opts]
"""
import argparse
import os

from ctl_plugin.engine import main as train_and_evaluate
from ctl_plugin.engine import setup

from fastreid.engine import default_argument_parser
from tabulate import tabulate

METRICS = ("Rank-1", "Rank-5", "Rank-10", "mAP")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--splits", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides, as for train_net.py")
    args = parser.parse_args(argv)
    base_cfg = setup(default_argument_parser().parse_args(["--config-file", args.config_file,
                                                                      *args.opts]))
    rows = []
    for split in args.splits:
        run = default_argument_parser().parse_args([
            "--config-file", args.config_file, *args.opts, "VIDEO.SPLIT", str(split),
            "OUTPUT_DIR", os.path.join(base_cfg.OUTPUT_DIR, f"split{split}")])
        results = train_and_evaluate(run)
        rows.append([split] + [float(results[m]) for m in METRICS])
    mean = ["mean"] + [sum(r[i] for r in rows) / len(rows) for i in range(1, len(METRICS) + 1)]
    print(tabulate(rows + [mean], headers=["split", *METRICS], tablefmt="pipe", floatfmt=".1f"))


if __name__ == "__main__":
    main()
