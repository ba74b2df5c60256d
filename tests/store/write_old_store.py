"""Writes a results store of format version 1 or 2, as cir wrote them before
every snapshot began with its checksum block (version 1 also before /epochs
and /recalls rows carried their attempt): the snapshot holds epoch 0 of one
running trial, and its journal (of the snapshot's generation) one frame that
adds epoch 1. For tests/store/compat_test.cpp, which checks that this cir
reads it and writes it back as the current version. VERSION 3 writes the
version 2 layout marked as version 3: a current store that another program
rewrote, without its checksum block.
Usage: /usr/bin/python3 write_old_store.py VERSION STORE.h5 TRIAL_ID SPEC_TEXT"""
import hashlib
import json
import struct
import sys
import zlib

import h5py
import numpy as np

version, path, trial_id, spec_text = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
generation = 3
params_json = '{"loss.gamma0":0.5,"train.epochs":3}'
# Version 2 added the trial's retries and every row's attempt, last.
attempt = [] if version == 1 else [("attempt", "<i4")]

text = h5py.string_dtype()
trial_dtype = np.dtype([("id", "S16"), ("index", "<i8"), ("status", "S8"), ("seed", "<i8"),
                        ("attempts", "<i4")] + ([] if version == 1 else [("retries", "<i4")]) +
                       [("epochs_done", "<i4"), ("started", "<f8"), ("finished", "<f8"),
                        ("expected_cost", "<f8"), ("error", text), ("params_json", text),
                        ("swept_keys", text), ("notes_json", text)])
metrics = ["loss_total", "loss_info", "loss_u", "gamma", "aug_std", "lr", "train_seconds",
           "eval_seconds", "samples_per_second"]
epoch_dtype = np.dtype([("trial", "S16"), ("epoch", "<i4")] + [(m, "<f8") for m in metrics] + attempt)
recall_dtype = np.dtype([("trial", "S16"), ("epoch", "<i4"), ("split", "S16"), ("k", "<i4"),
                         ("value", "<f8")] + attempt)


def epoch_row(epoch):
    # The values tests/store/compat_test.cpp expects: metric i is epoch + i / 8.
    return (trial_id.encode(), epoch) + tuple(epoch + i / 8 for i in range(len(metrics))) + (0,) * len(attempt)


def recall_rows(epoch):
    return [(trial_id.encode(), epoch, b"test", k, 10.0 * k + epoch) + (0,) * len(attempt) for k in (10, 50)]


def trial(epochs_done):
    row = {"id": trial_id, "index": 0, "seed": 7, "params_json": params_json,
           "swept_keys": ["loss.gamma0"], "expected_cost": 1.0, "status": 1, "attempts": 1,
           "epochs_done": epochs_done, "started": 1.5, "finished": 0.0, "error": "",
           "notes_json": "{}"}
    if version > 1:
        row["retries"] = 0
    return row


with h5py.File(path, "w") as f:
    for key, value in [("format", "cir-results"), ("sweep", "demo"), ("spec_text", spec_text),
                       ("spec_digest", hashlib.sha256(spec_text.encode()).hexdigest()),
                       ("cir_version", f"0.1.0-v{version}"), ("runs_json", "[]")]:
        f.attrs[key] = value
    for key, value in [("version", version), ("requeues_timeout", 0), ("requeues_preemption", 0),
                       ("journal_generation", generation)]:
        f.attrs[key] = np.int64(value)
    for key, value in [("created", 1.0), ("updated", 2.0)]:
        f.attrs[key] = np.float64(value)
    t = trial(1)
    f["trials"] = np.array([(t["id"], 0, b"running", 7, 1) + (() if version == 1 else (0,)) +
                            (1, 1.5, 0.0, 1.0, "", params_json, json.dumps(t["swept_keys"]), "{}")],
                           dtype=trial_dtype)
    f.create_group("params")["loss.gamma0"] = np.array([0.5])
    f.create_dataset("epochs", data=np.array([epoch_row(0)], dtype=epoch_dtype), maxshape=(None,),
                     chunks=(1024,), shuffle=True, compression="gzip")
    f.create_dataset("recalls", data=np.array(recall_rows(0), dtype=recall_dtype), maxshape=(None,),
                     chunks=(2048,), shuffle=True, compression="gzip")

# The journal: header (journal version 1 for store version 1, else 2, and
# the row sizes) and one frame.
journal = b"cir-journal\n" + struct.pack("<IqII", min(version, 2), generation, epoch_dtype.itemsize,
                                           recall_dtype.itemsize)
row = json.dumps(trial(2)).encode()
payload = struct.pack("<dI", 3.0, 1) + struct.pack("<I", len(row)) + row
payload += struct.pack("<Q", 1) + np.array([epoch_row(1)], dtype=epoch_dtype).tobytes()
payload += struct.pack("<Q", 2) + np.array(recall_rows(1), dtype=recall_dtype).tobytes()
journal += struct.pack("<QI", len(payload), zlib.crc32(payload)) + payload
with open(path + ".journal", "wb") as out:
    out.write(journal)
