"""Reads cir-report's exports back with the readers other tools use, and
prints what it found as one JSON object (tests/analysis/export_test.cpp
compares it with the store the test wrote).

  read_exports.py tensorboard DIR   every record's two masked CRC-32Cs checked
                                    (computed here, independently of cir), each
                                    record parsed as tensorflow.Event by the
                                    protobuf library (Debian's python3-protobuf)
  read_exports.py csv-long FILE     pandas.read_csv
  read_exports.py json FILE         json.load

Exit 3 when python3-protobuf is missing."""
import json
import os
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    with open(path, "rb") as f:
        blob = f.read()
    at = 0
    while at < len(blob):
        header = blob[at : at + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[at + 8 : at + 12])
        if length_crc != masked(header):
            raise SystemExit(f"{path}: bad length CRC at byte {at}")
        data = blob[at + 12 : at + 12 + length]
        (data_crc,) = struct.unpack("<I", blob[at + 12 + length : at + 16 + length])
        if data_crc != masked(data):
            raise SystemExit(f"{path}: bad data CRC at byte {at}")
        yield data
        at += 16 + length


def event_classes():
    """tensorflow.Event, Summary and the hparams plugin messages, declared
    from their .proto field numbers (TensorBoard is not a Debian package)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, struct_pb2

    from google.protobuf import message_factory

    if hasattr(message_factory, "GetMessageClass"):

        def get(pool, name):
            return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))

    else:  # protobuf < 4.22 (Debian 12 has 3.21)
        factory = message_factory.MessageFactory()

        def get(pool, name):
            return factory.GetPrototype(pool.FindMessageTypeByName(name))

    F = descriptor_pb2.FieldDescriptorProto
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(struct_pb2.DESCRIPTOR.serialized_pb))
    proto = descriptor_pb2.FileDescriptorProto(name="cir_tb.proto", package="tb", syntax="proto3")
    proto.dependency.append("google/protobuf/struct.proto")

    def message(name, fields, nested=()):
        m = proto.message_type.add(name=name)
        for field_name, number, kind, type_name, repeated in fields:
            f = m.field.add(name=field_name, number=number, type=kind,
                            label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
            if type_name:
                f.type_name = type_name
        for n in nested:
            m.nested_type.add().CopyFrom(n)
        return m

    entry = descriptor_pb2.DescriptorProto(name="HparamsEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                    type_name=".google.protobuf.Value")
    message("PluginData", [("plugin_name", 1, F.TYPE_STRING, None, False), ("content", 2, F.TYPE_BYTES, None, False)])
    message("SummaryMetadata", [("plugin_data", 1, F.TYPE_MESSAGE, ".tb.PluginData", False)])
    message("Value", [("tag", 1, F.TYPE_STRING, None, False), ("simple_value", 2, F.TYPE_FLOAT, None, False),
                      ("metadata", 9, F.TYPE_MESSAGE, ".tb.SummaryMetadata", False)])
    message("Summary", [("value", 1, F.TYPE_MESSAGE, ".tb.Value", True)])
    message("Event", [("wall_time", 1, F.TYPE_DOUBLE, None, False), ("step", 2, F.TYPE_INT64, None, False),
                      ("file_version", 3, F.TYPE_STRING, None, False),
                      ("summary", 5, F.TYPE_MESSAGE, ".tb.Summary", False)])
    message("HParamInfo", [("name", 1, F.TYPE_STRING, None, False), ("type", 4, F.TYPE_INT32, None, False)])
    message("MetricName", [("group", 1, F.TYPE_STRING, None, False), ("tag", 2, F.TYPE_STRING, None, False)])
    message("MetricInfo", [("name", 1, F.TYPE_MESSAGE, ".tb.MetricName", False)])
    message("Experiment", [("description", 1, F.TYPE_STRING, None, False),
                           ("hparam_infos", 4, F.TYPE_MESSAGE, ".tb.HParamInfo", True),
                           ("metric_infos", 5, F.TYPE_MESSAGE, ".tb.MetricInfo", True)])
    message("SessionStartInfo", [("hparams", 1, F.TYPE_MESSAGE, ".tb.SessionStartInfo.HparamsEntry", True),
                                 ("group_name", 4, F.TYPE_STRING, None, False),
                                 ("start_time_secs", 5, F.TYPE_DOUBLE, None, False)], nested=[entry])
    message("SessionEndInfo", [("status", 1, F.TYPE_INT32, None, False),
                               ("end_time_secs", 2, F.TYPE_DOUBLE, None, False)])
    message("HParamsPluginData", [("version", 1, F.TYPE_INT32, None, False),
                                  ("experiment", 2, F.TYPE_MESSAGE, ".tb.Experiment", False),
                                  ("session_start_info", 3, F.TYPE_MESSAGE, ".tb.SessionStartInfo", False),
                                  ("session_end_info", 4, F.TYPE_MESSAGE, ".tb.SessionEndInfo", False)])
    pool.Add(proto)
    return {name: get(pool, "tb." + name) for name in ("Event", "HParamsPluginData")}


def tensorboard(root):
    try:
        classes = event_classes()
    except ImportError as e:
        print(f"python3-protobuf is missing: {e}", file=sys.stderr)
        sys.exit(3)
    Event, PluginData = classes["Event"], classes["HParamsPluginData"]
    out = {"runs": {}, "experiment": None, "files": 0}
    for folder, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            if "tfevents" not in name:
                continue
            out["files"] += 1
            run = os.path.relpath(folder, root)
            info = {"first": None, "scalars": {}, "hparams": None, "status": None}
            for data in records(os.path.join(folder, name)):
                event = Event.FromString(data)
                if info["first"] is None:
                    info["first"] = event.file_version
                for value in event.summary.value:
                    if value.metadata.plugin_data.plugin_name == "hparams":
                        content = PluginData.FromString(value.metadata.plugin_data.content)
                        if value.tag == "_hparams_/experiment":
                            e = content.experiment
                            out["experiment"] = {
                                "description": e.description,
                                "hparams": {h.name: h.type for h in e.hparam_infos},
                                "metrics": [m.name.tag for m in e.metric_infos],
                            }
                        elif value.tag == "_hparams_/session_start_info":
                            hp = {}
                            for k, v in content.session_start_info.hparams.items():
                                kind = v.WhichOneof("kind")
                                hp[k] = getattr(v, kind)
                            info["hparams"] = hp
                        elif value.tag == "_hparams_/session_end_info":
                            info["status"] = content.session_end_info.status
                    else:
                        info["scalars"][f"{value.tag}@{event.step}"] = value.simple_value
            if run != ".":
                out["runs"][run] = info
            else:
                out["root_first"] = info["first"]
    return out


def csv_long(path):
    import pandas as pd

    df = pd.read_csv(path)
    key = ["trial", "epoch", "metric", "split", "k"]
    recall = df[(df.metric == "recall") & (df.k == 10)]
    reported = df[df.reported == 1]
    return {
        "rows": len(df),
        "columns": list(df.columns),
        "unique_keys": int(len(df.drop_duplicates(subset=key))),
        "trials": int(df.trial.nunique()),
        "metrics": sorted(df.metric.unique().tolist()),
        "r10_by_trial_epoch": {f"{t}@{e}": v for t, e, v in zip(recall.trial, recall.epoch, recall.value)},
        "reported_epochs": {t: int(e) for t, e in reported.groupby("trial").epoch.first().items()},
    }


def main():
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "tensorboard":
        result = tensorboard(path)
    elif kind == "csv-long":
        result = csv_long(path)
    else:
        with open(path) as f:
            result = json.load(f)
    json.dump(result, sys.stdout)


main()
