#!/usr/bin/env python3
"""tls_decrypt.py UMPA_JSON TSHARK_FIELDS LABEL [--min N] [--handshake]

Compare, frame by frame, the HTTP fields umpa shows (`umpa show --json`, decrypted TLS
records and HTTP over TCP alike: every layer "_layer": "http") with tshark's
(`-T fields -E occurrence=a -E aggregator=, -e frame.number -e FIELD...`, in FIELDS'
order).  Also fails when umpa marks a decrypted record as not decrypted, or when fewer
than N frames carry HTTP (default 2: a request and its response).

With --handshake the fields are HS_FIELDS of every "tls" layer instead (the records in
the clear, the decrypted ones and the handshake messages umpa reassembled from records):
the handshake message types of each frame (in sorted order: umpa shows a reassembled
message after the records, tshark inside the last one) and the certificates' DNS names.
"""
import json
import sys

FIELDS = [
    "http.request.method",
    "http.request.uri",
    "http.request.version",
    "http.response.version",
    "http.response.code",
    "http.response.phrase",
    "http.host",
    "http.content_length",
    "http.content_type",
    "http.server",
    "http.user_agent",
]
HS_FIELDS = ["tls.handshake.type", "x509ce.dNSName"]


def collect(obj, out):
    """Every FIELDS value under obj, in document order, into out[field]."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in out:
                for x in v if isinstance(v, list) else [v]:
                    out[k].append(str(x))
            else:
                collect(v, out)
    elif isinstance(obj, list):
        for v in obj:
            collect(v, out)


def main():
    global FIELDS
    upath, tpath, label = sys.argv[1:4]
    need = int(sys.argv[sys.argv.index("--min") + 1]) if "--min" in sys.argv else 2
    hs = "--handshake" in sys.argv
    layer_name = "tls" if hs else "http"
    if hs:
        FIELDS = HS_FIELDS
    umpa, errors = {}, []
    for line in open(upath):
        o = json.loads(line)
        fr = o["frame.number"]
        got = {k: [] for k in FIELDS}
        for layer in o["layers"]:
            if "_decrypt_error" in layer:
                errors.append("frame %d record %s: %s" % (fr, layer.get("_decrypted_record"), layer["_decrypt_error"]))
            if layer.get("_layer") == layer_name:
                collect(layer, got)
        if hs:
            got["tls.handshake.type"].sort(key=int)
        if any(got.values()):
            umpa[fr] = tuple(",".join(got[k]) for k in FIELDS)
    ws = {}
    for line in open(tpath):
        parts = line.rstrip("\n").split("\t")
        parts += [""] * (len(FIELDS) + 1 - len(parts))
        if hs and parts[1]:
            parts[1] = ",".join(sorted(parts[1].split(","), key=int))
        if any(parts[1:]):
            ws[int(parts[0])] = tuple(parts[1 : len(FIELDS) + 1])
    diff = []
    for fr in sorted(set(umpa) | set(ws)):
        u, t = umpa.get(fr), ws.get(fr)
        if u != t:
            both = [(FIELDS[i], (u or [""] * len(FIELDS))[i], (t or [""] * len(FIELDS))[i]) for i in range(len(FIELDS))]
            diff.append("frame %d: " % fr + "; ".join("%s umpa %r tshark %r" % b for b in both if b[1] != b[2]))
    if diff or errors or len(ws) < need:
        print("FAIL [%s]: %d frames differ, %d records not decrypted, %d frames with %s in tshark (need %d)"
              % (label, len(diff), len(errors), len(ws), "handshake messages" if hs else "HTTP", need))
        for d in (diff + errors)[:8]:
            print("    " + d)
        return 1
    if hs:
        print("ok   [%s]: handshake messages in %d frames, the same types and certificate names as tshark"
              % (label, len(ws)))
    else:
        print("ok   [%s]: HTTP in %d frames, the same fields as tshark" % (label, len(ws)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
