"""`help` and `info` listings against QEMU 7.2's help.json, and the
generated docs/monitor.md against the binary."""

import os
import subprocess

from harness import Qmig, ROOT, fixture, qmig_bin, run_piped
# qmig's own commands (QEMU 7.2 removed them: `unknown command`).
QMIG_ONLY = {"migrate_set_cache_size", "migrate_set_cachesize"}
# QEMU commands qmig does not have (no such device or feature).
QEMU_ONLY_HELP = set()


def qmig_help_lines():
    r = run_piped("help\n")
    assert r.returncode == 0 and r.stderr == ""
    return r.stdout


def test_help_for_each_command_is_qemus(tmp_path):
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], connect=False)
    try:
        s = q.session()
        checked = 0
        for e in fixture("help"):
            cmd = e["cmd"]
            if cmd in QEMU_ONLY_HELP or cmd in ("help", "?", "info", "help info"):
                continue
            words = cmd.split()
            if len(words) > 1 and words[1] in QMIG_ONLY:
                assert s.hmp(cmd).startswith(words[1] + " value -- set the XBZRLE cache size")
                continue
            assert s.hmp(cmd) == e["out"], cmd
            checked += 1
        assert checked >= 25
    finally:
        q.close()


def test_help_list_is_qemus_lines():
    """`help` lists every qmig command, each exactly as QEMU's list has it,
    in QEMU's (sorted) order."""
    qemu = fixture("help")[0]
    assert qemu["cmd"] == "help"
    ours = qmig_help_lines()
    entries = ours.split("\n")
    # Each command's entry (with continuation lines) appears in QEMU's list.
    blocks, cur = [], None
    for line in entries:
        if line.startswith("\t"):
            cur += "\n" + line
        else:
            if cur is not None:
                blocks.append(cur)
            cur = line
    names = []
    for b in blocks:
        name = b.split(" ")[0].split("|")[0]
        names.append(name)
        if name not in QMIG_ONLY:
            assert b + "\n" in qemu["out"], b
    assert names == sorted(names)
    assert {"migrate_continue", "migrate_pause", "migrate_recover",
            "migrate_start_postcopy", "migrate_set_capability",
            "migrate_set_parameter", "pmemsave", "info", "help", "memsave", "sum",
            "system_reset", "xp"} <= set(names)
    assert run_piped("?\n").stdout == ours


def test_info_list_and_help_info():
    qemu = [e["out"] for e in fixture("help") if e["cmd"] == "help info"][0]
    r = run_piped("info\nhelp info\n")
    out = r.stdout
    half = len(out) // 2
    assert out[:half] == out[half:]
    lines = out[:half].splitlines()
    assert [l.split()[1] for l in lines] == [
        "chardev", "dirty_rate", "history", "migrate", "migrate_capabilities",
        "migrate_parameters", "name", "ramblock", "status", "uuid", "version"]
    for l in lines:
        assert l + "\n" in qemu


def test_docs_are_generated_from_the_table():
    gen = subprocess.run([qmig_bin(), "--dump-hmp-docs"], capture_output=True,
                         text=True, check=True).stdout
    with open(os.path.join(ROOT, "docs", "monitor.md")) as f:
        assert f.read() == gen, "docs/monitor.md is stale: regenerate it"
    # Every command and its QEMU help line are in the docs.
    for line in qmig_help_lines().splitlines():
        if not line.startswith("\t"):
            assert line in gen
