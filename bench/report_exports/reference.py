"""The reference for bench/report_exports: what h5py + pandas take to make
the same exports of a cir store as cir-report (results/README.md's way of
reading a store), without TensorBoard (no Debian package writes its events).

  reference.py STORE csv-long OUT   one row per trial × epoch × metric
  reference.py STORE html OUT       Table 5 (R@10, R@50, Avg at each trial's
                                    best-R@10 epoch, mean and std over seeds)
                                    and the trial list as HTML
  reference.py STORE status OUT     trial counts and the trial list as JSON"""
import sys

import h5py
import pandas as pd

path, kind, out = sys.argv[1], sys.argv[2], sys.argv[3]
with h5py.File(path, "r") as f:
    trials = pd.DataFrame(f["trials"][()])
    trials["gamma0"] = f["params"]["loss.gamma0"][()]
    epochs = pd.DataFrame(f["epochs"][()])
    recalls = pd.DataFrame(f["recalls"][()])
for frame, column in ((trials, "id"), (trials, "status"), (epochs, "trial"), (recalls, "trial"), (recalls, "split")):
    frame[column] = frame[column].str.decode("ascii")
if kind == "csv-long":
    numbers = [c for c in epochs.columns if c not in ("trial", "epoch")]
    long = epochs.melt(id_vars=["trial", "epoch"], value_vars=numbers, var_name="metric")
    rec = recalls.assign(metric="recall")
    long = pd.concat([long, rec], ignore_index=True)
    long = long.merge(trials[["id", "seed", "status", "gamma0"]], left_on="trial", right_on="id").drop(columns="id")
    long.to_csv(out, index=False)
elif kind == "html":
    wide = recalls.groupby(["trial", "epoch", "k"])["value"].mean().unstack("k")
    best = wide[10].groupby(level="trial").idxmax()
    chosen = wide.loc[list(best.values)].reset_index()
    chosen["avg"] = (chosen[10] + chosen[50]) / 2
    chosen = chosen.merge(trials[trials.status == "done"][["id", "gamma0"]], left_on="trial", right_on="id")
    table = chosen.groupby("gamma0")[[10, 50, "avg"]].agg(["mean", "std"])
    with open(out, "w") as f:
        f.write("<!DOCTYPE html><html><body>" + table.to_html() + trials.drop(columns=["params_json"]).to_html()
                + "</body></html>")
else:
    status = {"counts": trials.status.value_counts().to_dict(), "trials": trials.drop(columns=["params_json"])
              .to_dict(orient="records")}
    pd.Series(status).to_json(out)
