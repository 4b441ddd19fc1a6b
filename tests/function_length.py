#!/usr/bin/env python3
"""Fails on any function in qmig's C sources longer than LIMIT lines.

A long function is where a rule hides between two others; the limit keeps
each one small enough to read at once.  Functions are found the way the
style writes them (kernel style: the opening brace alone in column 0, the
closing one too), which every file under util/ codec/ ram/ machine/
migration/ monitor/ and qmig.c follows.  Prints "file:line name N lines"
for each one over, exits 1 if there is any."""
import re
import subprocess
import sys

LIMIT = 80
FOLDERS = ("util/", "codec/", "ram/", "machine/", "migration/", "monitor/")


def sources():
    out = subprocess.run(["git", "ls-files", "*.c"], check=True,
                         capture_output=True, text=True).stdout.split()
    return [p for p in out if p.startswith(FOLDERS) or p == "qmig.c"]


def long_functions(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    start = None
    for i, line in enumerate(lines):
        if line == "{":
            start = i
        elif line == "}" and start is not None:
            length = i - start + 1
            if length > LIMIT:
                # the signature: back to the blank line above it
                top = start
                while top > 0 and lines[top - 1].strip():
                    top -= 1
                sig = [l for l in lines[top:start]
                       if not l.lstrip().startswith(("/*", "*", "//"))]
                m = re.search(r"(\w+)\(", " ".join(sig))
                yield start + 1, m.group(1) if m else "?", length
            start = None


def main():
    problems = ["%s:%d %s %d lines (limit %d)" % (p, line, name, n, LIMIT)
                for p in sources() for line, name, n in long_functions(p)]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
