"""The reference for bench/report: Table 5 (R@10, R@50, their average at each
trial's best-R@10 epoch, mean and std over seeds per γ0) from a cir store
with h5py + pandas, the way results/README.md reads a store.
Usage: table.py STORE [--csv OUT]; prints the table and, on stderr, the
seconds spent after the imports."""
import sys
import time

import h5py
import numpy as np
import pandas as pd

start = time.perf_counter()
path = sys.argv[1]
with h5py.File(path, "r") as f:
    trials = pd.DataFrame(f["trials"][()])
    trials["gamma0"] = f["params"]["loss.gamma0"][()]
    recalls = pd.DataFrame(f["recalls"][()])
trials["id"] = trials["id"].str.decode("ascii")
trials = trials[trials["status"] == b"done"]
recalls["trial"] = recalls["trial"].str.decode("ascii")
wide = recalls.groupby(["trial", "epoch", "k"])["value"].mean().unstack("k")  # mean over splits
best = wide[10].groupby(level="trial").idxmax()  # the first epoch with the highest R@10
chosen = wide.loc[list(best.values)].reset_index()
chosen["avg"] = (chosen[10] + chosen[50]) / 2
chosen = chosen.merge(trials[["id", "gamma0"]], left_on="trial", right_on="id")
table = chosen.groupby("gamma0")[[10, 50, "avg"]].agg(["mean", "std"])
elapsed = time.perf_counter() - start
print(table.to_string(float_format=lambda v: f"{v:.2f}"))
if len(sys.argv) > 3 and sys.argv[2] == "--csv":
    table.to_csv(sys.argv[3])
print(f"{elapsed:.4f}", file=sys.stderr)
