"""The reference for bench/store: the same snapshot rule done the obvious way
in Python. Reads the store bench_store wrote, then REPEATS times appends one
epoch row (and its 6 recall rows) and rewrites the whole file with h5py
(<store>.tmp, fsync, rename). Prints Markdown table rows: plain datasets,
and the same shuffle + deflate chunking cir uses.
Usage: /usr/bin/python3 h5py_rewrite.py STORE.h5 REPEATS"""
import os
import statistics
import sys
import time

import h5py
import numpy as np

path, repeats = sys.argv[1], int(sys.argv[2])
with h5py.File(path, "r") as f:
    attrs = dict(f.attrs)
    data = {name: f[name][()] for name in ("trials", "epochs", "recalls")}
    params = {k: f["params"][k][()] for k in f["params"]}
    dtypes = {name: f[name].dtype for name in ("trials", "epochs", "recalls")}


def rewrite(target, compressed):
    tmp = target + ".tmp"
    with h5py.File(tmp, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        for name, rows in data.items():
            if compressed and name != "trials":
                f.create_dataset(name, data=rows, dtype=dtypes[name], maxshape=(None,),
                                 chunks=(1024 if name == "epochs" else 2048,),
                                 shuffle=True, compression="gzip", compression_opts=1)
            else:
                f.create_dataset(name, data=rows, dtype=dtypes[name])
        group = f.create_group("params")
        for k, v in params.items():
            group.create_dataset(k, data=v)
    fd = os.open(tmp, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    os.rename(tmp, target)
    fd = os.open(os.path.dirname(os.path.abspath(target)), os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


target = path + ".h5py.h5"
for label, compressed in (("plain datasets", False), ("shuffle + deflate chunks", True)):
    seconds, cpu = [], []
    for i in range(repeats + 1):
        data["epochs"] = np.append(data["epochs"], data["epochs"][i:i + 1])
        data["recalls"] = np.append(data["recalls"], data["recalls"][6 * i:6 * i + 6])
        t0, c0 = time.perf_counter(), time.process_time()
        rewrite(target, compressed)
        if i > 0:  # the first is a warm-up, as in bench_store
            seconds.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    size = os.path.getsize(target) / 1e6
    print(f"| reference: h5py rewrite, {label} | {1e3 * statistics.median(seconds):.1f} | {size:.1f} "
          f"| {1e3 * statistics.median(cpu):.1f} |")
os.remove(target)
