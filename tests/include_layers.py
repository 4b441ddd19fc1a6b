#!/usr/bin/env python3
"""Checks the layering docs/architecture.md promises, from the sources.

Folders form a stack, util <- codec <- ram <- machine <- migration <- monitor <- qmig.c:
a file may include its own folder and folders to its left, never one to its
right.  And no two modules (a .c with its .h) may reach each other through
their includes, inside a folder too: a cycle is where a change to one file
forces a rebuild and a rethink of the other.  Prints one problem a line and
exits 1 if there is any."""
import collections
import re
import subprocess
import sys

LAYERS = ["util", "codec", "ram", "machine", "migration", "monitor"]


def layer(path):
    top = path.split("/")[0]
    return LAYERS.index(top) if top in LAYERS else len(LAYERS)


def sources():
    out = subprocess.run(["git", "ls-files", "*.c", "*.h"], check=True,
                         capture_output=True, text=True).stdout.split()
    return [p for p in out if layer(p) < len(LAYERS) or p == "qmig.c"]


def main():
    problems = []
    edges = collections.defaultdict(set)
    for path in sources():
        with open(path, encoding="utf-8") as f:
            includes = re.findall(r'^#include "([^"]+)"', f.read(), re.M)
        for inc in includes:
            if inc.startswith("tests/"):
                continue
            if layer(inc) > layer(path):
                problems.append(f"{path} includes {inc}, a layer above it")
            a, b = path.rsplit(".", 1)[0], inc.rsplit(".", 1)[0]
            if a != b:
                edges[a].add(b)

    def reachable(start):
        seen, pending = set(), [start]
        while pending:
            for nxt in edges[pending.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    pending.append(nxt)
        return seen

    cycles = {tuple(sorted((a, b))) for a in list(edges) for b in edges[a]
              if a in reachable(b)}
    problems += [f"{a} and {b} include each other" for a, b in sorted(cycles)]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
