"""QEMU 7.2's own answers, from the captures under shared/fixtures: HMP
transcripts, QMP/libvirt transcripts, and the checks that compare qmig's
output with them."""

import json
import os
import pathlib

from .paths import HMP_FIXTURES


def fixture(name):
    """The entries of NAME.json that have a command: [{'cmd', 'out'}...]."""
    with open(os.path.join(HMP_FIXTURES, name + ".json")) as f:
        return [e for e in json.load(f)["entries"] if "cmd" in e]


def fixture_out(name, cmd, nth=0):
    """QEMU's output for the nth occurrence of cmd in NAME.json."""
    outs = [e["out"] for e in fixture(name) if e["cmd"] == cmd]
    return outs[nth]


def is_error(out):
    """Whether a QEMU HMP output is an error (HMP has no error channel)."""
    return (out.startswith("Error: ") or out.startswith("unknown command: ")
            or "\nTry \"help " in out or out.startswith("Expected 'on' or 'off'")
            or out.startswith("invalid char "))


def piped_stderr(line_no, out):
    """What piped qmig prints on stderr for QEMU's error output `out`."""
    if out.startswith("Error: "):
        out = out[len("Error: "):]
    return "".join("qmig: line %d: %s\n" % (line_no, l) for l in out.splitlines())


def replace_lines(text, mapping):
    """text with each line 'k: v' whose k is in mapping given mapping[k]."""
    lines = []
    for l in text.splitlines(keepends=True):
        key = l.split(":", 1)[0]
        lines.append("%s: %s\n" % (key, mapping[key]) if key in mapping else l)
    return "".join(lines)


def transcript(path):
    """A fixture transcript as [(side, direction, message, text)], side ''
    or 'src'/'dst', direction '->' or '<-', message parsed (None when the
    line could not be parsed, e.g. cut or split), text as captured."""
    out = []
    for line in pathlib.Path(path).read_text().splitlines():
        side = ""
        if line.startswith(("src ", "dst ")):
            side, line = line[:3], line[4:]
        if not line.startswith(("-> ", "<- ")):
            continue
        direction, text = line[:2], line[3:]
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        out.append((side, direction, msg, text))
    return out


def json_shape(v):
    """The JSON type tree of a value: dicts keep their keys."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "str"
    if v is None:
        return "null"
    if isinstance(v, list):
        return ["list"]
    return {k: json_shape(x) for k, x in v.items()}


def same_types(mine, qemu, path="return"):
    """Asserts that mine has QEMU's member names and JSON types (a float
    in QEMU's reply may be an integer-valued float in qmig's, and vice
    versa: QEMU prints 0.0 as 0)."""
    if isinstance(qemu, dict):
        assert isinstance(mine, dict), "%s: %r is not an object" % (path,
                                                                   mine)
        assert sorted(mine) == sorted(qemu), \
            "%s: members %s, QEMU has %s" % (path, sorted(mine),
                                             sorted(qemu))
        for k in qemu:
            same_types(mine[k], qemu[k], path + "." + k)
    elif isinstance(qemu, list):
        assert isinstance(mine, list), "%s: not an array" % path
        if qemu and mine:
            same_types(mine[0], qemu[0], path + "[0]")
    elif isinstance(qemu, bool):
        assert isinstance(mine, bool), "%s: not a bool" % path
    elif isinstance(qemu, (int, float)):
        assert isinstance(mine, (int, float)) and \
            not isinstance(mine, bool), "%s: not a number" % path
        if isinstance(qemu, int) and not isinstance(qemu, bool) and \
                path.rsplit(".", 1)[-1] not in FLOAT_MEMBERS:
            assert isinstance(mine, int), "%s: not an integer" % path
    elif isinstance(qemu, str):
        assert isinstance(mine, str), "%s: not a string" % path


# Members QEMU declares as 'number' (it prints integral values as 0).
FLOAT_MEMBERS = {"mbps", "cache-miss-rate", "encoding-rate", "busy-rate",
                 "compression-rate"}
