#!/usr/bin/env python3
# Rebuilds a kms-byok m-of-n payload identity from share documents (escrow format v1).
import base64, json, sys

def mul(a, b):  # multiplication in GF(2^8) modulo x^8+x^4+x^3+x+1
    p = 0
    while b:
        if b & 1:
            p ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return p

def inv(a):  # a^254 is the inverse of a in GF(2^8)
    r = 1
    for _ in range(254):
        r = mul(r, a)
    return r

docs = [json.load(open(path)) for path in sys.argv[1:]]
if not docs:
    sys.exit("usage: python3 combine-shares.py SHARE.json SHARE.json ...")
for d in docs:
    if d.get("format") != "kms-byok-escrow-share" or d.get("version") != 1:
        sys.exit("not a kms-byok share document (format v1)")
    if d["escrowId"] != docs[0]["escrowId"]:
        sys.exit("these shares belong to different escrows")
shares = [base64.b64decode(d["share"]) for d in docs]
xs = [s[-1] for s in shares]
if len(set(xs)) != len(xs):
    sys.exit("a share was given twice")
if len(docs) < docs[0]["threshold"]:
    sys.exit("%d shares are needed, %d given" % (docs[0]["threshold"], len(docs)))
out = bytearray()
for i in range(len(shares[0]) - 1):
    acc = 0
    for j, s in enumerate(shares):
        num, den = 1, 1
        for k, x in enumerate(xs):
            if k != j:
                num = mul(num, x)
                den = mul(den, xs[j] ^ x)
        acc ^= mul(s[i], mul(num, inv(den)))
    out.append(acc)
sys.stdout.write(out.decode("ascii") + "\n")
