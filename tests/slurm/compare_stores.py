"""Compares two cir stores' results: every /epochs and /recalls row and each
trial's status and epochs done, ignoring what differs between runs by nature
(wall-clock times, attempts, notes). Exit 1 with the first difference.

  compare_stores.py A B                  B's rows equal A's
  compare_stores.py --tolerance T A B    floating-point fields within T (absolute)
  compare_stores.py --prefix A B         B holds a valid prefix of A: each trial's
                                         epochs 0..n-1 once each (n = its
                                         epochs_done), recalls of no other epoch,
                                         each row equal to A's"""
import argparse
import sys

import h5py
import numpy as np

TIMING = {"train_seconds", "eval_seconds", "samples_per_second", "started", "finished",
          "attempts", "notes", "notes_json", "error"}
# What a prefix of a sweep may differ in from the whole sweep.
PROGRESS = {"status", "epochs_done"}
KEYS = {"trials": ["id"], "epochs": ["trial", "epoch"], "recalls": ["trial", "epoch", "split", "k"]}


def table(f, name, skip):
    rows = f[name][()]
    fields = [n for n in rows.dtype.names if n not in TIMING | skip]
    order = np.lexsort(tuple(rows[k] for k in reversed(KEYS[name])))
    return fields, rows[order]


def equal(a, b, tolerance):
    if tolerance > 0 and np.issubdtype(a.dtype, np.floating):
        return np.allclose(a, b, rtol=0, atol=tolerance, equal_nan=True)
    return np.array_equal(a, b)


def compare(ra, rb, fields, name, tolerance):
    if len(ra) != len(rb):
        sys.exit(f"/{name}: {len(ra)} rows vs {len(rb)}")
    for field in fields:
        if not equal(ra[field], rb[field], tolerance):
            sys.exit(f"/{name}.{field} differs:\n{ra[field]}\n{rb[field]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tolerance", type=float, default=0.0)
    parser.add_argument("--prefix", action="store_true")
    parser.add_argument("a")
    parser.add_argument("b")
    args = parser.parse_args()
    with h5py.File(args.a, "r") as fa, h5py.File(args.b, "r") as fb:
        fields, ta = table(fa, "trials", PROGRESS if args.prefix else set())
        _, tb = table(fb, "trials", PROGRESS if args.prefix else set())
        compare(ta, tb, fields, "trials", args.tolerance)
        done = {row["id"]: int(row["epochs_done"]) for row in tb}
        for name in ("epochs", "recalls"):
            fields, ra = table(fa, name, set())
            _, rb = table(fb, name, set())
            if args.prefix:
                for trial, n in done.items():
                    epochs = np.sort(rb["epoch"][rb["trial"] == trial])
                    whole = np.array_equal(epochs, np.arange(n)) if name == "epochs" else np.all(epochs < n)
                    if not whole:
                        sys.exit(f"/{name} of trial {trial!r}: epochs {epochs.tolist()}, beyond or not "
                                 f"0..{n - 1} (epochs_done = {n})")
                keep = np.array([row["epoch"] < done.get(row["trial"], 0) for row in ra], dtype=bool)
                ra = ra[keep]
            compare(ra, rb, fields, name, args.tolerance)
        what = "a valid prefix" if args.prefix else "agree"
        print(f"stores {what}: {len(fb['trials'])} trials, {len(fb['epochs'])} epoch rows, "
              f"{len(fb['recalls'])} recall rows")


if __name__ == "__main__":
    main()
