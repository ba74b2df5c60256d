"""Reads a cir store the way a researcher would (h5py + pandas) and prints
what it found as JSON, for tests/store/python_test.cpp to compare with what
cir wrote. Usage: /usr/bin/python3 read_store.py STORE.h5"""
import json
import sys

import h5py
import pandas as pd


def text(column):
    return [v.decode() if isinstance(v, bytes) else v for v in column]


with h5py.File(sys.argv[1], "r") as f:
    attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
    trials = pd.DataFrame(f["trials"][()])
    epochs = pd.DataFrame(f["epochs"][()])
    recalls = pd.DataFrame(f["recalls"][()])
    params = {k: f["params"][k][()] for k in f["params"]}
    param_types = {k: str(v.dtype) for k, v in params.items()}

best_r10 = (recalls[recalls.k == 10].assign(trial=text(recalls[recalls.k == 10].trial))
            .groupby(["trial", "epoch"]).value.mean().groupby("trial").max())
json.dump({
    "attrs": attrs,
    "trials": {
        "id": text(trials.id), "status": text(trials.status), "seed": trials.seed.tolist(),
        "attempts": trials.attempts.tolist(), "error": text(trials.error),
        "params_json": text(trials.params_json), "notes_json": text(trials.notes_json),
    },
    "params": {k: [v.decode() if isinstance(v, bytes) else
                   (None if isinstance(v, float) and v != v else
                    ("inf" if v == float("inf") else v.item() if hasattr(v, "item") else v))
                   for v in vals] for k, vals in params.items()},
    "param_types": param_types,
    "epochs": {c: (text(epochs[c]) if c == "trial" else epochs[c].tolist()) for c in epochs.columns},
    "recalls": {c: (text(recalls[c]) if c in ("trial", "split") else recalls[c].tolist())
                for c in recalls.columns},
    "best_r10": best_r10.to_dict(),
}, sys.stdout)
