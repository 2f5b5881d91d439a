#!/usr/bin/env python
"""`make demo`: generate the bundled synthetic data, train and evaluate on it, print the results.

    python tools/demo.py [--configs configs/Demo/Baseline_Synthetic.yml ...] [--data-root datasets]
"""
import argparse
import os
import subprocess
import sys
import time

from ctl_plugin.config import build_cfg
from ctl_plugin.data import data_root
from ctl_plugin.data.synthetic import generate_synthetic_mars
from ctl_plugin.engine import main as train_and_evaluate

from fastreid.engine import default_argument_parser
from tabulate import tabulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIGS = [os.path.join(ROOT, "configs", "Demo", name)
                   for name in ("Baseline_Synthetic.yml", "CTL_Synthetic.yml")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS)
    parser.add_argument("--data-root", default=data_root())
    args = parser.parse_args(argv)
    os.environ["FASTREID_DATASETS"] = args.data_root

    if not os.path.isdir(os.path.join(args.data_root, "synthetic-mars")):
        start = time.time()
        generate_synthetic_mars(args.data_root)
        print(f"Generated the synthetic data under {args.data_root} in {time.time() - start:.1f} s")

    rows = []
    for config in args.configs:
        start = time.time()
        output_dir = build_cfg(config).OUTPUT_DIR
        results = train_and_evaluate(default_argument_parser().parse_args(["--config-file", config]))
        rows.append([os.path.basename(config), results["Rank-1"], results["mAP"],
                     f"{time.time() - start:.0f} s"])
        pictures = os.path.join(output_dir, "pictures")
        subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "visualize.py"),
                        "--config-file", config, "--output", pictures, "--num-queries", "6",
                        "MODEL.WEIGHTS", os.path.join(output_dir, "model_final.pth")], check=True)
        rows[-1].append(pictures)
    print(tabulate(rows, headers=["config", "Rank-1", "mAP", "train + eval", "pictures"],
                   tablefmt="pipe", floatfmt=".1f"))


if __name__ == "__main__":
    main()
