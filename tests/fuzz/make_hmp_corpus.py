#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_hmp_line (tests/fuzz/corpus/hmp_line/).

One file per QEMU 7.2 HMP transcript in shared/fixtures/qemu-7.2/hmp: the
commands typed in it, one per line, as a client sends them on a socket
(stdio-piped.json: its stdin as it was piped).  Then a few inputs for the
line rules and the parser corners the transcripts do not reach: NUL bytes,
a line over 64 KiB, "\\r\\n" ends, quoted strings, expressions, flags.

    tests/fuzz/make_hmp_corpus.py [SHARED_DIR]   (default: ../shared beside
                                                  the work tree)
Rerun it when the fixtures change; the files are committed.
"""

import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus", "hmp_line")

HAND = {
    "nul-bytes": b"stop\0 garbage\ninfo status\0xyz\n\0\ninfo status\n",
    "overlong-line": (b"migrate_set_parameter max-bandwidth 12345" + b" " * (70 * 1024)
                      + b"garbage-tail\ninfo migrate_parameters\n"),
    "crlf-and-no-final-newline": b"info status\r\nstop\r\n\r\ncont\rinfo status",
    "quoted-strings": (b'migrate_set_parameter tls-creds "a b\\"c\\n"\n'
                       b'migrate_set_parameter tls-hostname "unterminated\n'
                       b"migrate_set_parameter tls-authz ''\n"
                       b'help "info" "status"\n'),
    "expressions": (b"pmemsave 0x10 + 4 * (2 - 1) 4096 /tmp/f\n"
                    b"pmemsave ~0 -1 f\npmemsave 1/0 1 f\npmemsave 7%0 1 f\n"
                    b"pmemsave (1 1 f\npmemsave 0x8000000000000000/-1 1 f\n"
                    b"pmemsave -0x8000000000000000 1 f\n"
                    b"pmemsave 99999999999999999999 1 f\npmemsave 1 ^ 3 | 4 & 5 1 f\n"),
    "flags-and-aliases": (b"migrate -d -b -i -r tcp:127.0.0.1:1\nmigrate -dx uri\n"
                          b"migrate -\nc\ns\n? info\nq\n"),
    "info-and-help": b"info\ninfo foo\ninfo status extra\nhelp\nhelp info migrate\nhelp foo\n",
}


def commands(path):
    with open(path) as f:
        d = json.load(f)
    if "stdin" in d:
        return d["stdin"].encode()
    cmds = [e["cmd"] for e in d.get("entries", []) if "cmd" in e]
    return "".join(c + "\n" for c in cmds).encode() if cmds else None


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared")
    src = os.path.join(shared, "fixtures", "qemu-7.2", "hmp")
    files = sorted(glob.glob(os.path.join(src, "*.json")))
    if not files:
        sys.exit("no HMP transcripts under %s" % src)
    os.makedirs(OUT, exist_ok=True)
    n = 0
    for path in files:
        data = commands(path)
        if data:
            name = os.path.basename(path)[:-len(".json")]
            with open(os.path.join(OUT, name), "wb") as f:
                f.write(data)
            n += 1
    for name, data in HAND.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("%d transcripts and %d hand-made inputs in %s" % (n, len(HAND), OUT))


if __name__ == "__main__":
    main()
