#!/usr/bin/env python3
"""Reads embryo's committed TensorBoard fixture (Tests/EmbryoLabTests/Fixtures/tensorboard) with the
tensorboard package's own loader and checks that every scalar comes back with the tag, step, value and
wall time of points.json, the input the Swift test writes the fixture from. With a run's export folder as
argument, it prints what TensorBoard reads from it instead.

    pip install tensorboard
    python3 Scripts/check-tensorboard.py [EXPORT_DIR]
"""
import json
import os
import struct
import sys

from tensorboard.backend.event_processing import event_file_loader
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

here = os.path.dirname(os.path.abspath(__file__))
fixture = os.path.join(here, "..", "Tests", "EmbryoLabTests", "Fixtures", "tensorboard")


def summarise(folder):
    acc = EventAccumulator(folder, size_guidance={"scalars": 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    print(f"{folder}: {len(tags)} scalar tags")
    for t in tags[:10]:
        ev = acc.Scalars(t)
        print(f"  {t}: {len(ev)} points, last step {ev[-1].step} value {ev[-1].value:.6g}")


if len(sys.argv) > 1:
    summarise(sys.argv[1])
    sys.exit(0)

points = json.load(open(os.path.join(fixture, "points.json")))
path = os.path.join(fixture, "events.out.tfevents.0000000000.embryo")
# the raw loader: every event in order, the first being the file version
events = list(event_file_loader.LegacyEventFileLoader(path).Load())
assert events[0].file_version == "brain.Event:2", events[0]
assert len(events) == len(points) + 1, (len(events), len(points))
for e, p in zip(events[1:], points):
    (v,) = e.summary.value
    want = struct.unpack("<f", struct.pack("<f", p["value"]))[0]  # written as float32
    assert v.tag == p["tag"], (v.tag, p)
    assert e.step == p["step"], (e.step, p)
    assert v.simple_value == want, (v.simple_value, want, p)
    assert e.wall_time == p["wall_time"], (e.wall_time, p)
# the accumulator TensorBoard's UI uses: grouped by tag
acc = EventAccumulator(fixture, size_guidance={"scalars": 0})
acc.Reload()
tags = sorted({p["tag"] for p in points})
assert sorted(acc.Tags()["scalars"]) == tags, acc.Tags()["scalars"]
for t in tags:
    got = [(s.step, s.value) for s in acc.Scalars(t)]
    want = [(p["step"], struct.unpack("<f", struct.pack("<f", p["value"]))[0]) for p in points if p["tag"] == t]
    assert got == want, (t, got, want)
# a flipped payload byte must fail the checksum
data = bytearray(open(path, "rb").read())
data[40] ^= 0x01
bad = os.path.join(os.environ.get("TMPDIR", "/tmp"), "events.out.tfevents.0000000000.corrupt")
open(bad, "wb").write(bytes(data))
# the loader stops at a record whose checksum fails: only the version record before it is read
read = list(event_file_loader.LegacyEventFileLoader(bad).Load())
os.remove(bad)
assert len(read) == 1, f"a flipped byte in the second record went unnoticed: {len(read)} events read"
corrupt = "stops the reader at that record"
print(f"tensorboard read {len(events) - 1} scalars of {len(tags)} tags back with the same tags, steps, values and wall times; a flipped byte: {corrupt}")
