#!/usr/bin/env python3
"""Writes the tamper corpus for tests/integration/tamper.sh into a scratch folder.

usage: GIT_SOPS=... SHARED=... gen.py OUTDIR

Nothing here is committed: the keys are made at run time with `git sops keygen`, the sources
are encrypted at run time with `git sops encrypt` and `git sops age`, and the sops 3.13.2
fixtures are read from $SHARED at run time. OUTDIR gets:

  keys/key.txt, keys/other.txt   the identity every source is encrypted for, and a stranger
  src/                           the untampered sources and their authentic plaintexts
  cases/                         one file per case
  manifest.tsv                   one case a line: id, command, expectation, file, identity,
                                 markers file, authentic plaintext, category, description

Commands (run by the driver): decrypt, agedec (age -d -o), filestatus, clean, smudge, check.
Expectations:
  reject       exit 1..127, exactly one `git-sops: ` line on stderr, nothing on stdout
  either       a tamper of a field sops does not authenticate, or whose change does not reach
               the plaintext: reject as above, or exit 0 printing the authentic plaintext exactly
  comment      an encrypted comment (not covered by the MAC): reject, or exit 0 with exactly that
               one line changed, printed as its stored ciphertext
  keyname      the name of a cleartext key: sops' MAC covers values, not key names, so sops
               accepts the rename; reject, or exit 0 with exactly that one line changed
  passthrough  smudge never fails a checkout: exit 0, the stored bytes unchanged, at most one
               warning line
  encrypts     clean of valid (if hostile-looking) plaintext: exit 0, output a sops file
  flagged      check: a finding (exit 1); the value never in the report
  status       filestatus of a valid file: exit 0 with a JSON answer
In every case no marker (a planted plaintext value) may appear in stdout or stderr unless the
output is the authentic plaintext of an accepted case.
"""
import os
import re
import subprocess
import sys

GIT_SOPS = os.environ["GIT_SOPS"]
SHARED = os.environ["SHARED"]
OUT = os.path.abspath(sys.argv[1])
FIXTURES = os.path.join(SHARED, "fixtures", "sops-3.13.2")

cases = []


def run(args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw).stdout


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def add(cmd, expect, data, ext, ident, markers, auth, category, desc):
    cid = "%04d" % (len(cases) + 1)
    if isinstance(data, str):
        path = data  # a big file written once under src/, shared by its cases
    else:
        path = os.path.join(OUT, "cases", cid + ext)
        write(path, data)
    desc = desc.replace("\t", " ").replace("\n", " ")
    cases.append("\t".join([cid, cmd, expect, path, ident or "-", markers or "-", auth or "-", category, desc]))


def flip(data, pos, mask):
    b = bytearray(data)
    b[pos] ^= mask
    return bytes(b)


# ---- keys and sources ---------------------------------------------------------------------------

os.makedirs(os.path.join(OUT, "keys"))
os.makedirs(os.path.join(OUT, "src"))
os.makedirs(os.path.join(OUT, "cases"))
KEY = os.path.join(OUT, "keys", "key.txt")
OTHER = os.path.join(OUT, "keys", "other.txt")
run([GIT_SOPS, "keygen", "-o", KEY])
run([GIT_SOPS, "keygen", "-o", OTHER])
R = run([GIT_SOPS, "keygen", "-y", KEY]).decode().strip()
SRC = os.path.join(OUT, "src")
ENV = dict(os.environ, SOPS_AGE_KEY_FILE=KEY)
MARKERS = os.path.join(SRC, "markers.txt")
# Every planted value: none may show in the output of a rejected case.
PLANTED = ["TMARK-user-5e1a", "TMARK-pass-9c2b", "TMARK-list-77aa", "TMARK-token-3f00", "TMARK-env-a1",
           "TMARK-env-b2", "TMARK-ini-c3", "TMARK-json-d4", "TMARK-json-e5", "TMARK-bin-f6", "TMARK-age",
           "TMARK-planted-plain"]
write(MARKERS, ("\n".join(PLANTED) + "\n").encode())

PLAIN = {
    "secret.yaml": b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: tamper\ntype: Opaque\nstringData:\n"
                   b"  username: TMARK-user-5e1a\n  password: TMARK-pass-9c2b\n  token: TMARK-token-3f00\n",
    "tree.yaml": b"app:\n  users:\n    - TMARK-list-77aa\n    - 42\n  enabled: true\n  password: TMARK-pass-9c2b\n",
    "app.env": b"USER=TMARK-env-a1\nPASSWORD=TMARK-env-b2\nPORT=5432\n",
    "app.ini": b"[db]\nuser = TMARK-ini-c3\npassword = TMARK-pass-9c2b\n\n[cache]\nttl = 30\n",
    "app.json": b'{"user": "TMARK-json-d4", "nested": {"list": [1, "TMARK-json-e5"], "flag": false}}\n',
    "blob.bin": b"TMARK-bin-f6\x00\x01\x02 binary payload \xff\xfe TMARK-pass-9c2b\n",
}
ENC_ARGS = {"secret.yaml": ["--encrypted-regex", "^(data|stringData)$"]}


def encrypt(name, tag):
    src = os.path.join(SRC, name)
    write(src, PLAIN[name])
    out = run([GIT_SOPS, "encrypt", "--age", R] + ENC_ARGS.get(name, []) + [src], env=ENV, cwd=SRC)
    base, ext = os.path.splitext(name)
    path = os.path.join(SRC, "%s.%s%s" % (base, tag, ext))
    write(path, out)
    auth = path + ".auth"
    write(auth, run([GIT_SOPS, "decrypt", path], env=ENV, cwd=SRC))
    return path, auth


SOURCES = {}
for name in PLAIN:
    enc, auth = encrypt(name, "enc")
    twin, _ = encrypt(name, "twin")  # the same plaintext again: another data key, other IVs
    SOURCES[name] = (enc, auth, twin)

# ---- field-aware bit flips over sops files --------------------------------------------------------

ENC_RE = re.compile(rb"ENC\[AES256_GCM,data:([^,\]]*),iv:([^,\]]*),tag:([^,\]]*),type:([a-z]*)\]")
B64 = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def line_of(data, pos):
    start = data.rfind(b"\n", 0, pos) + 1
    end = data.find(b"\n", pos)
    return data[start:end if end >= 0 else len(data)]


def sops_fields(data):
    """(name, start, end, expectation, is_base64) for every field worth flipping."""
    fields = []
    n_value = n_mac = 0
    for m in ENC_RE.finditer(data):
        is_mac = b"mac" in line_of(data, m.start()).split(b"ENC[")[0]
        expect = "reject"
        if is_mac:
            n_mac += 1
            owner = "mac" if n_mac == 1 else "mac-copy"
            if n_mac > 1:
                # A multi-document YAML file repeats the metadata in every document; sops reads
                # the first document's (yaml.Unmarshal) and drops the copies unread.
                expect = "either"
        elif m.group(4) == b"comment":
            # sops encrypts comments but leaves them out of the MAC; one that does not decrypt is
            # printed as it is stored (its ciphertext), with a warning, as sops itself does.
            owner, expect = "comment", "comment"
        else:
            n_value += 1
            if n_value > 3:
                continue
            owner = "value%d" % n_value
        for i, part in enumerate(("data", "iv", "tag", "type")):
            fields.append((owner + "." + part, m.start(i + 1), m.end(i + 1), expect, part != "type"))
        fields.append((owner + ".scheme", m.start(), m.start(1), expect, False))
    for name, rx, expect in (
        ("recipient", rb"recipient\W*(age1[0-9a-z]+)", "either"),
        ("lastmodified", rb"lastmodified\W*([0-9][0-9TZ:-]+)", "reject"),
        ("version", rb"version\W*([0-9][0-9.]*)", "either"),
        ("encrypted_regex", rb"encrypted_regex\W*(\^[^\"\n]+)", "either"),
        ("unencrypted_suffix", rb"unencrypted_suffix\W*(_[a-z]+)", "either"),
        ("armor.begin", rb"(-----BEGIN AGE ENCRYPTED FILE-----)", "reject"),
        ("armor.end", rb"(-----END AGE ENCRYPTED FILE-----)", "reject"),
    ):
        m = re.search(rx, data)
        if m:
            fields.append((name, m.start(1), m.end(1), expect, False))
    # The armored age file inside the metadata: its first (header) and last (payload) lines.
    b = data.find(b"-----BEGIN AGE ENCRYPTED FILE-----")
    e = data.find(b"-----END AGE ENCRYPTED FILE-----")
    if b >= 0 and e > b:
        body = [m for m in re.finditer(rb"[A-Za-z0-9+/=]{20,}", data[b:e])]
        if body:
            for label, m in (("armor.header", body[0]), ("armor.payload", body[-1])):
                fields.append((label, b + m.start(), b + m.end(), "reject", True))
    return fields


def positions(start, end):
    return sorted({start, (start + end) // 2, end - 1})


def flips(start, end):
    """(position, mask): the low bit at the first, middle and last byte, and a high bit in the middle."""
    out = [(p, 0x01) for p in positions(start, end)]
    out.append(((start + end) // 2, 0x40))
    return out


def flip_expect(data, field, pos):
    name, start, end, expect, is_b64 = field
    if is_b64 and expect == "reject":
        # The last digit of padded base64 carries bits no byte uses; Go's decoder (sops) ignores
        # them, so a flip there can leave the decoded bytes, and the plaintext, unchanged.
        last = end - 1
        while last > start and data[last:last + 1] == b"=":
            last -= 1
        if pos == last and data[end - 1:end] == b"=":
            return "either"
    return expect


def ext_of(path):
    return os.path.splitext(path)[1]


for name, (enc, auth, twin) in SOURCES.items():
    data = read(enc)
    ext = ext_of(enc)
    for field in sops_fields(data):
        for pos, mask in flips(field[1], field[2]):
            t = flip(data, pos, mask)
            if t[pos] in b"\n\r":
                continue
            add("decrypt", flip_expect(data, field, pos), t, ext, KEY, MARKERS, auth, "bitflip-" + field[0].split(".")[0],
                "%s: bit flip 0x%02x at byte %d in %s" % (name, mask, pos, field[0]))

# Cleartext parts of the YAML Secret: values the MAC covers, key names it does not.
enc, auth, twin = SOURCES["secret.yaml"]
data = read(enc)
for label, rx, expect in (("cleartext value metadata.name", rb"name: (tamper)", "reject"),
                          ("cleartext value type", rb"type: (Opaque)", "reject"),
                          ("cleartext key apiVersion", rb"^(apiVersion):", "keyname"),
                          ("cleartext key kind", rb"\n(kind):", "keyname"),
                          ("encrypted value's key username", rb"(username): ENC", "reject"),
                          ("encrypted value's key password", rb"(password): ENC", "reject")):
    m = re.search(rx, data)
    for pos in positions(m.start(1), m.end(1)):
        add("decrypt", expect, flip(data, pos, 0x01), ".yaml", KEY, MARKERS, auth, "bitflip-" + label.split()[0],
            "secret.yaml: bit flip in the %s" % label)

# ---- structure: truncation, swaps, duplicates, metadata, UTF-8, aliases --------------------------


def lines(data):
    return data.split(b"\n")


def join(ls):
    return b"\n".join(ls)


def enc_line_indexes(ls):
    return [i for i, l in enumerate(ls) if b"ENC[" in l and b"mac" not in l.split(b"ENC[")[0]]


for name, (enc, auth, twin) in SOURCES.items():
    data = read(enc)
    ext = ext_of(enc)
    size = len(data)

    def rej(t, category, desc, expect="reject"):
        add("decrypt", expect, t, ext, KEY, MARKERS, auth, category, "%s: %s" % (name, desc))

    for k in range(1, 13):
        cut = size * k // 13
        rej(data[:cut], "truncate", "truncated to %d of %d bytes" % (cut, size))
    rej(data[:0], "truncate", "truncated to nothing")
    # The last byte is the final line break: the document is the same without it.
    rej(data[:-1], "truncate", "the final line break removed", "either")

    ms = list(ENC_RE.finditer(data))
    values = [m for m in ms if b"mac" not in line_of(data, m.start()).split(b"ENC[")[0]]
    mac = [m for m in ms if m not in values]
    if len(values) >= 2:
        a, b = values[0], values[1]
        swapped = data[:a.start()] + data[b.start():b.end()] + data[a.end():b.start()] + data[a.start():a.end()] + data[b.end():]
        rej(swapped, "swap", "the first two encrypted values swapped")
    tw = read(twin)
    tms = list(ENC_RE.finditer(tw))
    tvalues = [m for m in tms if b"mac" not in line_of(tw, m.start()).split(b"ENC[")[0]]
    tmac = [m for m in tms if m not in tvalues]
    if values and tvalues:
        v, tv = values[0], tvalues[0]
        rej(data[:v.start()] + tw[tv.start():tv.end()] + data[v.end():], "swap",
            "the first value taken from another encryption of the same plaintext")
    if mac and tmac:
        rej(data[:mac[0].start()] + tw[tmac[0].start():tmac[0].end()] + data[mac[0].end():], "swap",
            "the MAC taken from another encryption of the same plaintext")
    if values:
        v = values[0]
        rej(data[:v.start()] + b"TMARK-planted-plain" + data[v.end():], "plaintext-value",
            "the first encrypted value replaced by a plaintext value")
        rej(data[:v.start()] + data[mac[0].start():mac[0].end()] + data[v.end():], "swap",
            "the first value replaced by the MAC's ciphertext")

    ls = lines(data)
    idx = enc_line_indexes(ls)
    if idx and ext != ".json" and ext != ".bin":
        i = idx[0]
        # INI readers (go-ini in sops) keep the last of duplicate keys: the same value twice
        # leaves the same tree, so sops accepts it with the authentic plaintext.
        rej(join(ls[:i + 1] + [ls[i]] + ls[i + 1:]), "duplicate", "the first value's line duplicated",
            "either" if ext == ".ini" else "reject")
        if len(idx) >= 2 and idx[1] == i + 1:
            rej(join(ls[:i] + [ls[i + 1], ls[i]] + ls[i + 2:]), "reorder", "the first two value lines in the other order")
    if ext == ".json" and idx:
        i = idx[0]
        rej(join(ls[:i + 1] + [ls[i]] + ls[i + 1:]), "duplicate", "the first value's member duplicated")

    # Metadata: each entry removed; the whole block removed; another file's block.
    for label, rx, expect in (("lastmodified", rb"lastmodified", "reject"), ("mac", rb"mac\W", "reject"),
                              ("version", rb"version", "either"), ("recipient", rb"recipient", "either"),
                              ("encrypted_regex", rb"encrypted_regex", "either"),
                              ("unencrypted_suffix", rb"unencrypted_suffix", "either"),
                              ("enc", rb"map_enc|\benc\b", "reject")):
        keep = [l for l in ls if not re.search(rx, l)]
        if len(keep) != len(ls):
            rej(join(keep), "metadata-removed", "the metadata entry '%s' removed" % label, expect)
    if ext == ".yaml":
        s = data.index(b"\nsops:")
        rej(data[:s + 1], "metadata-removed", "the whole sops block removed")
        ts = tw.index(b"\nsops:")
        rej(data[:s] + tw[ts:], "swap", "the sops block of another encryption of the same plaintext")
        # Metadata entries in the reverse order: the same metadata.
        block = lines(data[s + 7:])
        chunks, cur = [], []
        for l in block:
            if l.startswith(b"    ") and not l.startswith(b"     ") and cur:
                chunks.append(cur)
                cur = []
            cur.append(l)
        if cur:
            chunks.append(cur)
        tail = chunks[-1][-1:] if chunks and chunks[-1][-1] == b"" else []
        if tail:
            chunks[-1] = chunks[-1][:-1]
        rej(data[:s + 7] + join([l for c in reversed(chunks) for l in c] + tail), "metadata-reordered",
            "the sops metadata entries in reverse order", "either")
        # Anchors and aliases.
        a = data.replace(b"username: ENC", b"username: &u ENC", 1)
        a = re.sub(rb"password: ENC\[[^\]]*\]", b"password: *u", a, count=1)
        rej(a, "alias", "the password is an alias of the username's encrypted value")
        a = data.replace(b"\nsops:\n", b"\nsops: &m\n", 1) + b"copy: *m\n"
        rej(a, "alias", "an alias of the sops metadata planted as a top-level value")
        laughs = [b'lol0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        for i in range(1, 10):
            laughs.append(b"lol%d: &a%d [%s]" % (i, i, b",".join([b"*a%d" % (i - 1)] * 9)))
        rej(data[:s + 1] + join(laughs) + data[s:], "billion-laughs", "billion laughs before the sops block")
    if ext in (".env", ".ini"):
        sops_lines = [l for l in ls if l.startswith(b"sops_") or (ext == ".ini" and re.match(rb"^[a-z_]+ *=", l) and
                      ls.index(l) > ls.index(b"[sops]"))]
        other = [l for l in ls if l not in sops_lines]
        first = ls.index(sops_lines[0])
        rej(join(other[:first] + list(reversed(sops_lines)) + other[first:]), "metadata-reordered",
            "the sops metadata entries in reverse order", "either")

    # Invalid UTF-8 in the key names, values and metadata.
    for label, rx in (("a key name", rb"(user|USER|username|app|a)\b"), ("an encrypted value", rb"data:"),
                      ("the recipient", rb"age1"), ("the lastmodified time", rb"lastmodified\W+\"?2")):
        m = re.search(rx, data)
        if m:
            at = m.end()
            # The recipient is a routing hint sops does not authenticate; JSON readers (Go's, like
            # sops') turn invalid UTF-8 into U+FFFD there: accepting it is as safe as rejecting.
            expect = "either" if label == "the recipient" else "reject"
            rej(data[:at] + b"\xff\xfe" + data[at:], "invalid-utf8", "invalid UTF-8 in %s" % label, expect)
            rej(data[:at] + b"\xc3" + data[at:], "invalid-utf8", "a truncated UTF-8 sequence in %s" % label, expect)

    # A stranger's identity; the file made for a stranger.
    add("decrypt", "reject", data, ext, OTHER, MARKERS, auth, "wrong-recipient", "%s: opened with another identity" % name)

# ---- age files ------------------------------------------------------------------------------------

age_plain = os.path.join(SRC, "age.plain")
write(age_plain, (b"TMARK-age " * 15000)[:150000])  # 65536 + 65536 + 18928: three chunks
AGE = os.path.join(SRC, "x25519.age")
ARMOR = os.path.join(SRC, "x25519.armor")
run([GIT_SOPS, "age", "-r", R, "-o", AGE, age_plain])
run([GIT_SOPS, "age", "-a", "-r", R, "-o", ARMOR, age_plain])
SSH_PUB = os.path.join(FIXTURES, "ssh_ed25519.pub")
SSH_KEY = os.path.join(FIXTURES, "ssh_ed25519")
SSH_AGE = os.path.join(SRC, "ssh.age")
run([GIT_SOPS, "age", "-R", SSH_PUB, "-o", SSH_AGE, age_plain])


def age_fields(data):
    h = data.index(b"\n---") + 1
    hend = data.index(b"\n", h) + 1
    l1 = data.index(b"\n") + 1
    l2 = data.index(b"\n", l1) + 1
    l3 = data.index(b"\n", l2) + 1
    stanza = data[l1:l2]
    parts = stanza.split(b" ")
    f = [("version line", 0, l1 - 1), ("stanza arrow", l1, l1 + 2), ("stanza type", l1 + 3, l1 + 3 + len(parts[1]))]
    off = l1 + 3 + len(parts[1]) + 1
    for i, p in enumerate(parts[2:]):
        p = p.rstrip(b"\n")
        f.append(("stanza argument %d" % (i + 1), off, off + len(p)))
        off += len(p) + 1
    f += [("stanza body", l2, l3 - 1), ("header MAC", h + 4, hend - 1), ("--- marker", h, h + 3),
          ("payload nonce", hend, hend + 16)]
    c0 = hend + 16
    f += [("chunk 0", c0, c0 + 65552), ("chunk 1", c0 + 65552, c0 + 2 * 65552), ("final chunk", c0 + 2 * 65552, len(data))]
    return f, hend


for label, path, ident in (("x25519", AGE, KEY), ("ssh-ed25519", SSH_AGE, SSH_KEY)):
    data = read(path)
    fields, hend = age_fields(data)
    for name, start, end in fields:
        for pos, mask in flips(start, end) + [((start + end) // 2, 0x80)]:
            t = flip(data, pos, mask)
            if t[pos] == 0x0a:
                continue
            add("agedec", "reject", t, ".age", ident, MARKERS, None, "age-bitflip",
                "%s age file: bit flip 0x%02x at byte %d in the %s" % (label, mask, pos, name))
    for cut in (hend // 2, hend - 1, hend, hend + 16, hend + 16 + 65552, hend + 16 + 65552 * 2, len(data) - 1):
        add("agedec", "reject", data[:cut], ".age", ident, MARKERS, None, "age-truncate",
            "%s age file truncated to %d of %d bytes" % (label, cut, len(data)))
    add("agedec", "reject", data, ".age", OTHER, MARKERS, None, "wrong-recipient", "%s age file, another identity" % label)
    add("agedec", "reject", data + b"\x00", ".age", ident, MARKERS, None, "age-append", "%s age file, a byte appended" % label)

data = read(ARMOR)
ls = lines(data)
for i in (0, 1, len(ls) // 2, len(ls) - 3, len(ls) - 2):
    start = sum(len(l) + 1 for l in ls[:i])
    for pos in positions(start, start + len(ls[i])):
        t = flip(data, pos, 0x01)
        # The last digit before '=' padding carries unused bits (see flip_expect).
        expect = "either" if i == len(ls) - 3 and pos == start + len(ls[i].rstrip(b"=")) - 1 and ls[i].endswith(b"=") else "reject"
        add("agedec", expect, t, ".age", KEY, MARKERS, None, "armor-bitflip",
            "armored age file: bit flip at byte %d (line %d)" % (pos, i + 1))
for cut in (10, len(data) // 2, len(data) - 20):
    add("agedec", "reject", data[:cut], ".age", KEY, MARKERS, None, "armor-truncate", "armored age file truncated to %d" % cut)
add("agedec", "reject", data.replace(b"\n", b"\n ", 3), ".age", KEY, MARKERS, None, "armor-whitespace",
    "armored age file: a space at the start of body lines")
add("agedec", "reject", ls[0] + b"\n" + join(ls[1:3]).replace(b"\n", b"") + b"\n" + join(ls[3:]), ".age", KEY, MARKERS,
    None, "armor-whitespace", "armored age file: two body lines joined (not 64 columns)")
# Outside the base64: the spec lets a reader accept whitespace around the armor.
add("agedec", "either", data + b"\n\n", ".age", KEY, MARKERS, None, "armor-whitespace",
    "armored age file: blank lines after the END line")
add("agedec", "either", data.replace(b"\n", b"\r\n"), ".age", KEY, MARKERS, None, "armor-whitespace",
    "armored age file: CRLF line ends")

# 100 MiB: an age file with one bit flipped in its middle chunk.
big_plain = os.path.join(SRC, "big.plain")
with open(big_plain, "wb") as f:
    block = b"TMARK-age big file line\n" * 43690
    for _ in range(100):
        f.write(block[:1048576])
big_age = os.path.join(SRC, "big.age")
run([GIT_SOPS, "age", "-r", R, "-o", big_age, big_plain])
os.remove(big_plain)
with open(big_age, "r+b") as f:
    f.seek(50 * 1048576)
    b = f.read(1)
    f.seek(50 * 1048576)
    f.write(bytes([b[0] ^ 0x01]))
add("agedec", "reject", big_age, ".age", KEY, MARKERS, None, "100MiB", "100 MiB age file, one bit flipped at 50 MiB")

# ---- hostile plaintext: parsers under load, through every command -----------------------------


def nested_block(depth):
    out = [b"kind: Secret", b"stringData:"]
    for i in range(depth):
        out.append(b"  " * (i + 1) + b"k:")
    out.append(b"  " * (depth + 1) + b"k: TMARK-pass-9c2b")
    return join(out) + b"\n"


laughs = [b"apiVersion: v1", b"kind: Secret", b"metadata:", b"  name: laughs",
          b'a0: &a0 ["TMARK-pass-9c2b","lol","lol","lol","lol","lol","lol","lol","lol"]']
for i in range(1, 10):
    laughs.append(b"a%d: &a%d [%s]" % (i, i, b",".join([b"*a%d" % (i - 1)] * 9)))
laughs.append(b"stringData:\n  password: *a9\n")
HOSTILE = [
    ("deep flow sequence (100,000 levels)", ".yaml", b"kind: Secret\nstringData: " + b"[" * 100000 + b"]" * 100000 + b"\n", "parse"),
    ("deep block mapping (3,000 levels)", ".yaml", nested_block(3000), "parse"),
    ("deep JSON arrays (100,000 levels)", ".json", b'{"kind": "Secret", "stringData": ' + b"[" * 100000 + b"]" * 100000 + b"}\n", "parse"),
    ("deep JSON objects (100,000 levels)", ".json", b'{"kind": "Secret", "x": ' + b'{"a":' * 100000 + b"1" + b"}" * 100000 + b"}\n", "parse"),
    ("billion laughs", ".yaml", join(laughs), "parse"),
    ("alias of an unfinished anchor (recursion)", ".yaml", b"kind: Secret\na: &a [*a]\n", "parse"),
    ("invalid UTF-8 in a Secret", ".yaml", b"kind: Secret\nstringData:\n  password: TMARK-pass-9c2b\xff\xfe\n", "parse"),
    ("NUL bytes in a Secret", ".yaml", b"kind: Secret\nstringData:\n  password: TMARK-pass-9c2b\x00\x00\n", "parse"),
    ("unterminated flow mapping", ".yaml", b"kind: Secret\nstringData: {password: TMARK-pass-9c2b\n", "parse"),
    ("tab indentation", ".yaml", b"kind: Secret\nstringData:\n\tpassword: TMARK-pass-9c2b\n", "parse"),
    ("truncated JSON", ".json", b'{"kind": "Secret", "stringData": {"password": "TMARK-pass-9c2b"', "parse"),
    # Go's encoding/json, which sops uses, reads invalid UTF-8 in a string as U+FFFD: valid.
    ("invalid UTF-8 in a JSON string", ".json", b'{"kind": "Secret", "p": "TMARK-pass-9c2b\xff"}\n', "valid"),
    ("dotenv line without '='", ".env", b"PASSWORD TMARK-pass-9c2b\n", "parse"),
    ("INI value outside a section and broken header", ".ini", b"[db\npassword = TMARK-pass-9c2b\n", "parse"),
    ("8 MiB single YAML line", ".yaml", b"kind: Secret\nstringData:\n  password: TMARK-pass-9c2b" + b"x" * 8388608 + b"\n", "valid"),
    ("8 MiB single JSON line", ".json", b'{"kind": "Secret", "p": "TMARK-pass-9c2b' + b"x" * 8388608 + b'"}\n', "valid"),
    ("8 MiB single dotenv line", ".env", b"PASSWORD=TMARK-pass-9c2b" + b"x" * 8388608 + b"\n", "valid"),
    ("a mapping with 20,000 keys", ".yaml", b"kind: Secret\nstringData:\n" + b"".join(b"  k%d: TMARK-pass-9c2b\n" % i for i in range(20000)), "valid"),
]
for n, (desc, ext, data, kind) in enumerate(HOSTILE):
    data_path = os.path.join(SRC, "hostile%02d%s" % (n, ext))
    write(data_path, data)
    data = data_path
    # decrypt: none is encrypted, so all are refused; filestatus answers for the valid ones.
    add("decrypt", "reject", data, ext, KEY, MARKERS, None, "hostile", "decrypt: " + desc)
    add("filestatus", "status" if kind == "valid" else "reject", data, ext, None, MARKERS, None, "hostile", "filestatus: " + desc)
    add("clean", "encrypts" if kind == "valid" else "reject", data, ext, KEY, MARKERS, None, "hostile", "clean: " + desc)
    add("check", "flagged", data, ext, None, MARKERS, None, "hostile", "check --staged: " + desc)

# The check on a Secret with 200,000 plaintext keys: one finding each (this was quadratic).
many = os.path.join(SRC, "many-keys.yaml")
write(many, b"kind: Secret\nstringData:\n" + b"".join(b"  k%d: TMARK-pass-9c2b\n" % i for i in range(200000)))
add("check", "flagged", many, ".yaml", None, MARKERS, None, "hostile", "check --staged: a Secret with 200,000 plaintext keys")

# Tampered sops files through the filter and the check: smudge passes them through, check flags
# what is not encrypted and never prints the planted value.
enc, auth, twin = SOURCES["secret.yaml"]
data = read(enc)
v = list(ENC_RE.finditer(data))[0]
planted = data[:v.start()] + b"TMARK-planted-plain" + data[v.end():]
add("check", "flagged", planted, ".yaml", None, MARKERS, None, "plaintext-value", "check --staged: a sops file with one plaintext value")
add("clean", "reject", planted, ".yaml", KEY, MARKERS, None, "plaintext-value", "clean: a sops file with one plaintext value")
add("smudge", "passthrough", planted, ".yaml", KEY, MARKERS, None, "plaintext-value", "smudge: a sops file with one plaintext value")
for pos in positions(v.start(1), v.end(1)):
    t = flip(data, pos, 0x01)
    add("smudge", "passthrough", t, ".yaml", KEY, MARKERS, None, "bitflip-value1", "smudge: bit flip at byte %d in a value" % pos)
m = re.search(rb"mac: ENC\[AES256_GCM,data:(.)", data)
add("smudge", "passthrough", flip(data, m.start(1), 0x01), ".yaml", KEY, MARKERS, None, "bitflip-mac", "smudge: bit flip in the MAC")
add("smudge", "passthrough", data[:len(data) // 2], ".yaml", KEY, MARKERS, None, "truncate", "smudge: truncated to half")

# ---- the sops 3.13.2 fixtures (read-only; tampered copies) -------------------------------------
FMARKERS = os.path.join(SRC, "fixture-markers.txt")
words = set()
for row in open(os.path.join(FIXTURES, "manifest.tsv")):
    if row.startswith("#"):
        continue
    case = row.split("\t")[0]
    exp = os.path.join(FIXTURES, "expected", case)
    if not os.path.exists(exp):
        continue
    words.update(re.findall(rb"[A-Za-z0-9_+/.@-]{10,}", read(exp)))
# A marker is a decrypted word no encrypted fixture shows in clear (so not a key name, a
# cleartext value or a recipient type that an error message may rightly name).
clear = b"".join(read(os.path.join(FIXTURES, "enc", f)) for f in os.listdir(os.path.join(FIXTURES, "enc")))
write(FMARKERS, b"\n".join(sorted(w for w in words if w not in clear)) + b"\n")

for row in open(os.path.join(FIXTURES, "manifest.tsv")):
    if row.startswith("#"):
        continue
    cols = row.rstrip("\n").split("\t")
    case, ident, rc = cols[0], cols[4], cols[5]
    if rc != "0":
        continue  # the one case sops itself refuses
    ident = SSH_KEY if ident == "ssh_ed25519" else os.path.join(FIXTURES, ident.split("|")[0])
    path = os.path.join(FIXTURES, "enc", case)
    data = read(path)
    ext = ext_of(case) if ext_of(case) in (".yaml", ".json", ".env", ".ini") else ".bin"
    auth = os.path.join(FIXTURES, "expected", case)
    for field in sops_fields(data):
        if not field[0].startswith(("value1", "mac", "comment", "lastmodified", "armor.header")):
            continue
        pos = (field[1] + field[2]) // 2
        add("decrypt", flip_expect(data, field, pos), flip(data, pos, 0x01), ext, ident, FMARKERS, auth,
            "fixture-bitflip", "fixture %s: bit flip at byte %d in %s" % (case, pos, field[0]))
    for k in (3, 7):
        add("decrypt", "reject", data[:len(data) * k // 10], ext, ident, FMARKERS, auth, "fixture-truncate",
            "fixture %s truncated to %d/10" % (case, k))
    add("decrypt", "reject", data, ext, OTHER, FMARKERS, auth, "wrong-recipient", "fixture %s, another identity" % case)

with open(os.path.join(OUT, "manifest.tsv"), "w") as f:
    f.write("\n".join(cases) + "\n")
print(len(cases))
