"""Compares two cir stores' results: every /epochs and /recalls row and each
trial's status and epochs done, ignoring what differs between runs by nature
(wall-clock times, attempts, notes). Exit 1 with the first difference."""
import sys

import h5py
import numpy as np

TIMING = {"train_seconds", "eval_seconds", "samples_per_second", "started", "finished",
          "attempts", "notes", "notes_json", "error"}


def table(f, name, key):
    rows = f[name][()]
    fields = [n for n in rows.dtype.names if n not in TIMING]
    order = np.lexsort(tuple(rows[k] for k in reversed(key)))
    return fields, rows[order]


def main(a, b):
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        for name, key in (("trials", ["id"]), ("epochs", ["trial", "epoch"]),
                          ("recalls", ["trial", "epoch", "split", "k"])):
            fields, ra = table(fa, name, key)
            _, rb = table(fb, name, key)
            if len(ra) != len(rb):
                sys.exit(f"/{name}: {len(ra)} rows vs {len(rb)}")
            for field in fields:
                if not np.array_equal(ra[field], rb[field]):
                    sys.exit(f"/{name}.{field} differs:\n{ra[field]}\n{rb[field]}")
        print(f"stores agree: {len(fa['trials'])} trials, {len(fa['epochs'])} epoch rows, "
              f"{len(fa['recalls'])} recall rows")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
