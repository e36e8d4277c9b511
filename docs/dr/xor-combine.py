#!/usr/bin/env python3
# Rebuilds material N of a kms-byok XOR-split escrow from every component document (escrow format v1).
# usage: python3 xor-combine.py N COMPONENT.json COMPONENT.json ... > material.bin
import base64, json, sys

if len(sys.argv) < 3:
    sys.exit("usage: python3 xor-combine.py N COMPONENT.json COMPONENT.json ...")
n, files = int(sys.argv[1]), sys.argv[2:]
docs = [json.load(open(f)) for f in files]
indexes = sorted(d["componentIndex"] for d in docs)
if indexes != list(range(1, docs[0]["components"] + 1)):
    sys.exit("every component is needed exactly once: got %s of %d" % (indexes, docs[0]["components"]))
comps = [base64.b64decode(next(m["component"] for m in d["materials"] if m["index"] == n)) for d in docs]
out = bytearray(len(comps[0]))
for c in comps:
    out = bytearray(a ^ b for a, b in zip(out, c))
sys.stdout.buffer.write(bytes(out))
