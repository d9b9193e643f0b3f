#!/usr/bin/env python3
"""Independent verifier for one bodycam shift directory.

Written from docs/evidence-format.md only (it imports nothing from the project): Python 3
standard library, plus the `openssl` command for Ed25519 and X25519. With --central-key it also
decrypts BCAMENC1 segments (AES-256-GCM implemented below from FIPS 197 / SP 800-38D, since the
standard library has no AES) and checks their plaintext hashes.

usage: independent_verify.py SHIFT_DIR --pubkey DEVICE_PUB_PEM [--central-key CENTRAL_PRIV_PEM]
exit: 0 intact, 1 tampered or incomplete, 2 unusable input
"""
import argparse
import base64
import calendar
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import datetime, timezone

ZERO = "0" * 64
TOLERANCE_MS = 250
REASONS = ("PERSONAL_NEEDS", "SENSITIVE_SITE")
SEG_RE = re.compile(r"^seg-(\d{6})\.ts(\.enc)?$")
TORN_RE = re.compile(r"^journal\.torn-\d+$")
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class Unusable(Exception):
    pass


def ms(t):
    if not isinstance(t, str) or not TIME_RE.match(t):
        return None
    dt = datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
    return calendar.timegm(dt.timetuple()) * 1000 + dt.microsecond // 1000


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def openssl(args, **kw):
    return subprocess.run(["openssl"] + args, capture_output=True, **kw)


def ed25519_verify(pub_pem_path, message, signature, tmp):
    mpath, spath = os.path.join(tmp, "m.bin"), os.path.join(tmp, "s.bin")
    with open(mpath, "wb") as f:
        f.write(message)
    with open(spath, "wb") as f:
        f.write(signature)
    r = openssl(["pkeyutl", "-verify", "-pubin", "-inkey", pub_pem_path, "-rawin", "-in", mpath, "-sigfile", spath])
    return r.returncode == 0


def spki_der(pem_path, private=False):
    args = ["pkey", "-in", pem_path, "-pubout", "-outform", "DER"] if private else ["pkey", "-pubin", "-in", pem_path, "-outform", "DER"]
    r = openssl(args)
    if r.returncode != 0:
        raise Unusable("%s: not a usable key (%s)" % (pem_path, r.stderr.decode(errors="replace").strip()[:200]))
    return r.stdout


# ---------------------------------------------------------------- AES-256-GCM (decryption only)

def _xtime(a):
    a <<= 1
    return (a ^ 0x11B) if a & 0x100 else a


def _sbox():
    s = [0] * 256
    p = q = 1
    while True:
        p = p ^ ((p << 1) & 0xFF) ^ (0x1B if p & 0x80 else 0)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        x = q ^ ((q << 1) | (q >> 7)) ^ ((q << 2) | (q >> 6)) ^ ((q << 3) | (q >> 5)) ^ ((q << 4) | (q >> 4))
        s[p] = (x ^ 0x63) & 0xFF
        if p == 1:
            break
    s[0] = 0x63
    return s


SBOX = _sbox()
MUL2 = [_xtime(i) & 0xFF for i in range(256)]
MUL3 = [MUL2[i] ^ i for i in range(256)]


def aes256_expand(key):
    w = [list(key[i:i + 4]) for i in range(0, 32, 4)]
    rcon = 1
    for i in range(8, 60):
        t = list(w[i - 1])
        if i % 8 == 0:
            t = [SBOX[b] for b in t[1:] + t[:1]]
            t[0] ^= rcon
            rcon = _xtime(rcon) & 0xFF
        elif i % 8 == 4:
            t = [SBOX[b] for b in t]
        w.append([a ^ b for a, b in zip(w[i - 8], t)])
    return [sum(w[r * 4:r * 4 + 4], []) for r in range(15)]


def aes256_block(rk, block):
    s = [b ^ k for b, k in zip(block, rk[0])]
    for r in range(1, 15):
        s = [SBOX[b] for b in s]
        s = [s[(i + 4 * (i % 4)) % 16] for i in range(16)]  # ShiftRows (column-major state)
        if r != 14:
            m = []
            for c in range(4):
                a0, a1, a2, a3 = s[4 * c:4 * c + 4]
                m += [MUL2[a0] ^ MUL3[a1] ^ a2 ^ a3, a0 ^ MUL2[a1] ^ MUL3[a2] ^ a3, a0 ^ a1 ^ MUL2[a2] ^ MUL3[a3], MUL3[a0] ^ a1 ^ a2 ^ MUL2[a3]]
            s = m
        s = [b ^ k for b, k in zip(s, rk[r])]
    return bytes(s)


def _gf_mult(x, y):
    r = 0
    R = 0xE1 << 120
    for i in range(127, -1, -1):
        if (y >> i) & 1:
            r ^= x
        x = (x >> 1) ^ R if x & 1 else x >> 1
    return r


def aes256_gcm_open(key, nonce, aad, sealed):
    """Returns the plaintext, or None when the tag does not authenticate."""
    if len(sealed) < 16 or len(nonce) != 12:
        return None
    ct, tag = sealed[:-16], sealed[-16:]
    rk = aes256_expand(key)
    h = int.from_bytes(aes256_block(rk, bytes(16)), "big")

    def ghash(data, acc):
        for i in range(0, len(data), 16):
            blk = data[i:i + 16].ljust(16, b"\0")
            acc = _gf_mult(acc ^ int.from_bytes(blk, "big"), h)
        return acc

    acc = ghash(aad, 0)
    acc = ghash(ct, acc)
    acc = _gf_mult(acc ^ ((len(aad) * 8) << 64 | len(ct) * 8), h)
    j0 = nonce + b"\0\0\0\1"
    expect = bytes(a ^ b for a, b in zip(acc.to_bytes(16, "big"), aes256_block(rk, j0)))
    if not hmac.compare_digest(expect, tag):
        return None
    out = bytearray()
    ctr = 2
    for i in range(0, len(ct), 16):
        ks = aes256_block(rk, nonce + ctr.to_bytes(4, "big"))
        out += bytes(a ^ b for a, b in zip(ct[i:i + 16], ks))
        ctr += 1
    return bytes(out)


def hkdf_sha256(ikm, salt, info, length=32):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def x25519_shared(central_priv_pem, eph_raw, tmp):
    der = bytes.fromhex("302a300506032b656e032100") + eph_raw
    p = os.path.join(tmp, "eph.der")
    with open(p, "wb") as f:
        f.write(der)
    pem = os.path.join(tmp, "eph.pem")
    r = openssl(["pkey", "-pubin", "-inform", "DER", "-in", p, "-out", pem])
    if r.returncode != 0:
        return None
    r = openssl(["pkeyutl", "-derive", "-inkey", central_priv_pem, "-peerkey", pem])
    return r.stdout if r.returncode == 0 else None


def parse_container_header(b):
    if len(b) < 134 or b[:8] != b"BCAMENC1" or b[8] != 1:
        return None
    h = int.from_bytes(b[10:12], "big")
    n = int.from_bytes(b[132:134], "big")
    if h != 134 + n or len(b) < h:
        return None
    return {
        "H": h, "C": int.from_bytes(b[12:16], "big"), "recipient": b[16:24].hex(), "E": b[24:56],
        "wrap_nonce": b[56:68], "wrapped": b[68:116], "salt": b[116:132], "name": b[134:h].decode("utf-8", "replace"), "header": b[:h],
    }


def decrypt_container(b, central_priv_pem, central_raw, tmp, cache):
    hd = parse_container_header(b)
    if hd is None:
        return None, "bad header"
    ck = hd["E"] + hd["wrapped"]
    dk = cache.get(ck)
    if dk is None:
        shared = x25519_shared(central_priv_pem, hd["E"], tmp)
        if shared is None:
            return None, "X25519 failed"
        kek = hkdf_sha256(shared, hd["E"] + central_raw, b"bodycam-keywrap-v1")
        dk = aes256_gcm_open(kek, hd["wrap_nonce"], b"bodycam-keywrap-v1", hd["wrapped"])
        if dk is None:
            return None, "data key does not unwrap: wrong key"
        cache[ck] = dk
    sk = hkdf_sha256(dk, hd["salt"], b"bodycam-segment-key-v1")
    off, i, out, C = hd["H"], 0, bytearray(), hd["C"]
    while True:
        rest = len(b) - off
        if rest <= 0:
            return None, "final chunk missing"
        take = min(rest, C + 16)
        final = take < C + 16 or rest == C + 16
        pt = aes256_gcm_open(sk, bytes(4) + i.to_bytes(8, "big"), hd["header"] + (b"\1" if final else b"\0"), b[off:off + take])
        if pt is None:
            return None, "chunk %d does not authenticate" % i
        out += pt
        off += take
        i += 1
        if final:
            return (bytes(out), None) if off == len(b) else (None, "bytes after final chunk")


# ---------------------------------------------------------------- the checks

def verify(shift_dir, pubkey, central_key=None):
    problems = []  # (where, message)

    def bad(where, msg):
        problems.append((where, msg))

    if not os.path.isdir(shift_dir):
        raise Unusable("%s is not a directory" % shift_dir)
    jpath = os.path.join(shift_dir, "journal.jsonl")
    if not os.path.isfile(jpath):
        raise Unusable("no journal.jsonl in %s" % shift_dir)
    spki_der(pubkey)  # the key must load
    data = open(jpath, "rb").read()
    cut = data.rfind(b"\n") + 1
    raw_lines = data[:cut].split(b"\n")[:-1] if cut else []
    if cut < len(data):
        bad("journal.jsonl:%d" % (len(raw_lines) + 1), "%d bytes after the last newline (torn)" % (len(data) - cut))

    recs, expected_prev, first_break = [], ZERO, None
    for i, raw in enumerate(raw_lines):
        where = "journal.jsonl:%d" % (i + 1)
        rec = None
        try:
            pairs = json.loads(raw.decode("utf-8"), object_pairs_hook=lambda p: p)
            if isinstance(pairs, list):
                rec = dict(pairs)
                if [k for k, _ in pairs[:4]] != ["seq", "type", "at", "prev"]:
                    bad(where, "keys do not begin with seq, type, at, prev")
        except (ValueError, UnicodeDecodeError):
            pass
        if rec is None:
            bad(where, "not a JSON object")
            first_break = i if first_break is None else first_break
        else:
            if rec.get("seq") != i:
                bad(where, "seq is %r, expected %d" % (rec.get("seq"), i))
            if ms(rec.get("at")) is None:
                bad(where, "bad at")
            if rec.get("prev") != expected_prev:
                bad(where, "prev does not match the previous line's hash")
                first_break = i if first_break is None else first_break
        recs.append(rec)
        expected_prev = sha256(raw)
    if not any(r is not None for r in recs):
        raise Unusable("no record in the journal")

    first = recs[0]
    if not first or first.get("type") != "shift_start":
        bad("journal.jsonl:1", "first record is not shift_start")
    shift_id = first.get("shift_id") if first else None

    # signatures
    signed_through = -1
    with tempfile.TemporaryDirectory() as tmp:
        for i, r in enumerate(recs):
            if not r or r.get("type") != "signature":
                continue
            where = "journal.jsonl:%d" % (i + 1)
            ok = (r.get("alg") == "ed25519" and r.get("covers_seq") == i - 1 and r.get("head") == r.get("prev")
                  and r.get("shift_id") == shift_id and isinstance(r.get("device_id"), str) and isinstance(r.get("sig"), str))
            if ok:
                msg = "bodycam-journal-signature-v1\n%s\n%s\n%d\n%s\n" % (r["device_id"], r["shift_id"], r["covers_seq"], r["head"])
                try:
                    sig = base64.b64decode(r["sig"], validate=True)
                except ValueError:
                    sig = b""
                ok = len(sig) == 64 and ed25519_verify(pubkey, msg.encode("utf-8"), sig, tmp)
            if not ok:
                bad(where, "signature invalid for the given key")
            elif first_break is None or i <= first_break:
                signed_through = i
    tail = len(recs) - 1 - signed_through
    if tail > 0:
        bad("journal.jsonl:%d" % (signed_through + 2), "%d record(s) not covered by a valid signature" % tail)

    end_idx = next((i for i, r in enumerate(recs) if r and r.get("type") == "shift_end"), None)
    # An open prefix (section 8): no shift_end, no torn bytes, the last line a valid signature
    # over an intact chain from line 1.
    is_open = end_idx is None and cut == len(data) and signed_through == len(recs) - 1
    awaited = set()
    if end_idx is None:
        if not is_open:
            bad("journal.jsonl", "no shift_end")
    else:
        for i in range(end_idx + 1, len(recs)):
            if not recs[i] or recs[i].get("type") != "signature":
                bad("journal.jsonl:%d" % (i + 1), "record after shift_end")

    # segments and files
    names = set(os.listdir(shift_dir))
    allowed = {"journal.jsonl"}
    segs = []
    # A custody period opened by a rotation numbers its segments on from the closing period
    # (shift_start.continues.first_segment, docs/custody-periods.md); every other shift from 1.
    first_no = 1
    start = recs[0] if recs and recs[0] and recs[0].get("type") == "shift_start" else {}
    cont = start.get("continues")
    cont = dict(cont) if isinstance(cont, list) else {}  # nested objects arrive as key/value pairs
    if cont.get("cause") == "period_rotation" and isinstance(cont.get("first_segment"), int) and cont["first_segment"] >= 1:
        first_no = cont["first_segment"]
    for i, r in enumerate(recs):
        if not r:
            continue
        if r.get("type") == "recovery" and r.get("what") == "journal_torn_tail":
            f = r.get("file")
            allowed.add(f)
            p = os.path.join(shift_dir, str(f))
            if not os.path.isfile(p) or sha256(open(p, "rb").read()) != r.get("sha256"):
                bad(str(f), "torn bytes file missing or altered")
        if r.get("type") != "segment":
            continue
        f = r.get("file", "")
        m = SEG_RE.match(str(f))
        where = str(f)
        if not m or int(m.group(1)) != len(segs) + first_no:
            bad("journal.jsonl:%d" % (i + 1), "segment %r out of order (expected number %d)" % (f, len(segs) + first_no))
        segs.append(r)
        allowed.add(f)
        p = os.path.join(shift_dir, str(f))
        if not os.path.isfile(p):
            if is_open:
                awaited.add(str(f))
            else:
                bad(where, "missing")
            continue
        b = open(p, "rb").read()
        if len(b) != r.get("bytes") or sha256(b) != r.get("sha256"):
            bad(where, "size or SHA-256 differs from journal line %d" % (i + 1))
            continue
        if str(f).endswith(".enc"):
            hd = parse_container_header(b)
            if hd is None or hd["name"] != str(f)[:-4]:
                bad(where, "container header invalid or names another file")
            elif isinstance(r.get("plain_bytes"), int):
                P, C = r["plain_bytes"], hd["C"]
                if len(b) != hd["H"] + P + 16 * max(1, -(-P // C)):
                    bad(where, "container size does not fit plain_bytes")
    last_no = len(segs)
    for n in sorted(names - allowed):
        m = SEG_RE.match(n)
        if m and end_idx is None and int(m.group(1)) == last_no + 1:
            if not is_open:
                bad(n, "unsealed segment (crash): not in the journal")
        else:
            bad(n, "file is not part of the journaled evidence")

    # coverage
    t0 = ms(first.get("at")) if first else None
    end_rec = recs[end_idx] if end_idx is not None else None
    if end_rec:
        t1 = ms(end_rec.get("end")) or ms(end_rec.get("at"))
    else:
        t1 = max((ms(r.get("at")) for r in recs if r and ms(r.get("at")) is not None), default=None)
    verified_through = None
    if t0 is not None and t1 is not None:
        cov, pause_at, unverified = [], None, []
        for r in recs:
            if not r:
                continue
            ty = r.get("type")
            if ty == "segment" and ms(r.get("start")) is not None and ms(r.get("end")) is not None:
                cov.append((ms(r["start"]), ms(r["end"])))
                if str(r.get("file")) in awaited:
                    unverified.append(cov[-1])
            elif ty == "gap" and r.get("cause") and ms(r.get("start")) is not None and ms(r.get("end")) is not None:
                cov.append((ms(r["start"]), ms(r["end"])))
            elif ty == "pause":
                if pause_at is not None:
                    cov.append(pause_at)
                pause_at = (ms(r.get("at")), None) if r.get("reason") in REASONS else None
            elif ty == "resume" and pause_at is not None:
                cov.append((pause_at[0], ms(r.get("at"))))
                pause_at = None
        if pause_at is not None:
            cov.append((pause_at[0], t1))
        cursor = t0
        for s, e in sorted((max(s, t0), min(e, t1)) for s, e in cov if s is not None and e is not None):
            if s - cursor > TOLERANCE_MS:
                bad("journal.jsonl", "%.3f s not covered from %d ms" % ((s - cursor) / 1000, cursor))
            cursor = max(cursor, e)
        # Open: after the last covered instant the camera is still recording: not a hole.
        if t1 - cursor > TOLERANCE_MS and not is_open:
            bad("journal.jsonl", "%.3f s not covered at the end" % ((t1 - cursor) / 1000))
        if is_open:
            # T: covered from t0 without a hole by what is verified (not awaited segments),
            # capped at the `at` of the line the last signature covers.
            cap = ms(recs[-2].get("at")) if len(recs) >= 2 and recs[-2] else t1
            cursor = t0
            for s, e in sorted(c for c in cov if c not in unverified and c[0] is not None and c[1] is not None):
                if s > cursor + TOLERANCE_MS:
                    break
                cursor = max(cursor, e)
            verified_through = min(cursor, cap)

    # decryption with central's key
    decrypted = 0
    if central_key:
        central_raw = spki_der(central_key, private=True)[-32:]
        cache = {}
        with tempfile.TemporaryDirectory() as tmp:
            for r in segs:
                f = str(r.get("file", ""))
                p = os.path.join(shift_dir, f)
                if not f.endswith(".enc") or not os.path.isfile(p):
                    continue
                plain, err = decrypt_container(open(p, "rb").read(), central_key, central_raw, tmp, cache)
                if err and "wrong key" in err:
                    raise Unusable("%s: %s" % (f, err))
                if err:
                    bad(f, "does not decrypt: %s" % err)
                elif sha256(plain) != r.get("plain_sha256") or len(plain) != r.get("plain_bytes"):
                    bad(f, "decrypted plaintext differs from plain_sha256")
                else:
                    decrypted += 1
    return problems, len(recs), signed_through, decrypted, (verified_through if is_open else None), sorted(awaited)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("shift_dir")
    ap.add_argument("--pubkey", required=True)
    ap.add_argument("--central-key")
    a = ap.parse_args()
    try:
        problems, n, signed, decrypted, through, awaited = verify(a.shift_dir, a.pubkey, a.central_key)
    except Unusable as e:
        print("UNUSABLE: %s" % e)
        return 2
    if problems:
        print("NOT INTACT: %d problem(s)" % len(problems))
        for where, msg in problems:
            print("  %s: %s" % (where, msg))
        return 1
    if through is not None:
        t = datetime.fromtimestamp(through // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (through % 1000)
        print("INTACT: covered from start through %s, shift still open; awaited: %s" % (t, ", ".join(awaited) or "none"))
        return 0
    print("INTACT: %d records, signed through line %d%s" % (n, signed + 1, ", %d segments decrypted" % decrypted if a.central_key else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
