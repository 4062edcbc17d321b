"""Edge coverage of the fuzz runs: merges the bitmaps edges.c wrote (one file per process, one
byte per edge) by binary (told apart by their number of edges) and prints edges hit of total."""
import collections
import os
import sys

merged = {}
processes = collections.Counter()
for name in os.listdir(sys.argv[1]):
    with open(os.path.join(sys.argv[1], name), 'rb') as f:
        bits = f.read()
    processes[len(bits)] += 1
    seen = merged.get(len(bits))
    merged[len(bits)] = bits if seen is None else bytes(a | b for a, b in zip(seen, bits))
for total, bits in sorted(merged.items()):
    hit = sum(bits)
    print(f"{total} edges: {hit} hit ({100 * hit / total:.1f}%), {processes[total]} processes")
