"""`info` and the set commands against QEMU 7.2's transcripts: a fresh VM
(info-fresh.json), then every migrate_set_parameter / migrate_set_capability
of set-parameters-and-capabilities.json with the `info` output before and
after, line for line; through a unix monitor and through a piped script.
"""

import pytest

from harness import (Qmig, fixture, is_error, piped_stderr, qmig_bin, replace_lines, run_piped)

# Capabilities qmig refuses to turn on (options.c says why).  QEMU 7.2
# accepted these lines; qmig answers with its own error.
REFUSED = {"block", "x-colo"}


def expected_set_params():
    """(cmd, qmig's expected output) for set-parameters-and-capabilities."""
    rows = []
    for e in fixture("set-parameters-and-capabilities"):
        cmd, out = e["cmd"], e["out"]
        words = cmd.split()
        if words[0] == "migrate_set_capability" and words[2] == "on" \
                and words[1] in REFUSED:
            if out == "":
                out = "Error: Capability '%s' is not supported by qmig\n" % words[1]
        elif cmd == "info migrate_capabilities":
            out = replace_lines(out, {c: "off" for c in REFUSED})
        rows.append((cmd, out))
    return rows


def test_fresh_vm_socket(tmp_path):
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], connect=False)
    try:
        s = q.session()
        for e in fixture("info-fresh"):
            assert s.hmp(e["cmd"]) == e["out"], e["cmd"]
    finally:
        q.close()


def test_fresh_vm_piped():
    entries = fixture("info-fresh")
    r = run_piped("".join(e["cmd"] + "\n" for e in entries))
    assert r.stdout == "".join(e["out"] for e in entries)
    assert r.stderr == ""
    assert r.returncode == 0


def test_set_parameters_and_capabilities_socket(tmp_path):
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], connect=False)
    try:
        s = q.session()
        for cmd, want in expected_set_params():
            assert s.hmp(cmd) == want, cmd
    finally:
        q.close()


def test_set_parameters_and_capabilities_piped():
    rows = expected_set_params()
    r = run_piped("".join(cmd + "\n" for cmd, _ in rows))
    assert r.stdout == "".join(out for _, out in rows if not is_error(out))
    assert r.stderr == "".join(piped_stderr(i + 1, out) for i, (_, out) in enumerate(rows)
                               if is_error(out))
    assert r.returncode == 1


def info_params(session_or_script_output):
    return dict(l.split(": ", 1) for l in session_or_script_output.splitlines())


@pytest.mark.parametrize("name,value,shown", [
    ("xbzrle-cache-size", "256m", "268435456 bytes"),
    ("xbzrle-cache-size", "64k", "65536 bytes"),
    ("max-bandwidth", "32", "33554432 bytes/second"),
    ("max-bandwidth", "1.5", "1572864 bytes/second"),
    ("max-bandwidth", "1000b", "1000 bytes/second"),
    ("downtime-limit", "1k", "1024 ms"),
    ("compress-level", "0x5", "5"),
    ("compress-level", "07", "7"),
    ("compress-wait-thread", "no", "off"),
    ("multifd-compression", "zstd", "zstd"),
    ("tls-creds", "x509", "'x509'"),
    # qmig also takes underscores (QEMU 7.2 does not).
    ("compress_threads", "4", "4"),
    ("max_bandwidth", "1g", "1073741824 bytes/second"),
])
def test_set_parameter_values(name, value, shown):
    r = run_piped("migrate_set_parameter %s %s\ninfo migrate_parameters\n" % (name, value))
    assert r.stderr == "" and r.returncode == 0
    assert info_params(r.stdout)[name.replace("_", "-")] == shown


def test_old_cache_size_spellings():
    r = run_piped("migrate_set_cache_size 1m\ninfo migrate_parameters\n"
                  "migrate_set_cachesize 128k\ninfo migrate_parameters\n"
                  "migrate_set_cachesize 3m\n")
    sizes = [l for l in r.stdout.splitlines() if l.startswith("xbzrle-cache-size")]
    assert sizes == ["xbzrle-cache-size: 1048576 bytes", "xbzrle-cache-size: 131072 bytes"]
    assert r.stderr == ("qmig: line 5: Parameter 'xbzrle_cache_size' expects a power "
                        "of two no less than the target page size\n")
    assert r.returncode == 1


def test_every_capability_known():
    """Each capability either turns on, or is refused with qmig's error;
    turning any off is accepted; the failed sets change nothing."""
    fresh = fixture("info-fresh")
    caps = [l.split(":")[0] for l in
            [e for e in fresh if e["cmd"] == "info migrate_capabilities"][0]["out"].splitlines()]
    assert len(caps) == 21
    supported = {"xbzrle", "compress", "events", "return-path",
                 "pause-before-switchover", "late-block-activate",
                 "auto-converge", "multifd", "validate-uuid"}
    script = "".join("migrate_set_capability %s on\nmigrate_set_capability %s off\n"
                     % (c, c) for c in caps)
    r = run_piped(script + "info migrate_capabilities\n")
    want_err = ""
    for i, c in enumerate(caps):
        if c not in supported:
            msg = "Capability '%s' is not supported by qmig" % c
            if c == "postcopy-preempt":
                msg = "Postcopy preempt requires postcopy-ram"
            elif c == "zero-copy-send":
                msg = ("Zero copy only available for non-compressed non-TLS "
                       "multifd migration")
            want_err += "qmig: line %d: %s\n" % (2 * i + 1, msg)
    assert r.stderr == want_err
    assert r.stdout == "".join("%s: off\n" % c for c in caps)
