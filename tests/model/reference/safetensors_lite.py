"""A minimal safetensors writer for the test references (Debian has no
python3-safetensors): 8-byte little-endian header length, a JSON header
padded with spaces to a multiple of 8, then each tensor's raw bytes."""
import json
import struct

import torch

_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def save(tensors, path):
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        t = tensor.detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
