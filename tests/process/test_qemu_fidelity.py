"""qmig beside a real QEMU 7.2 on the edges of issue 13: the same input
to both, the same answer expected (skipped without QEMU, as the interop
tests)."""

import pytest


def same_answers(qmig, qemu, lines):
    for line in lines:
        assert qmig.hmp(line) == qemu.hmp(line), line


@pytest.mark.parametrize("line", [
    "info status extra",
    "info migrate_parameters x",
    "info name 1",
])
def test_info_subcommand_errors_point_to_help_info(spawn, spawn_qemu, line):
    """The parser's `Try "help ..."` line of an info sub-command names
    `help info SUB`, which is a command that answers."""
    qmig = spawn(["-m", "16M"])
    qemu = spawn_qemu()
    out = qmig.hmp(line)
    assert out == qemu.hmp(line)
    assert out.endswith('Try "help info %s" for more information\n' % line.split()[1])
    help_line = out.splitlines()[1].split('"')[1]
    assert qmig.hmp(help_line).startswith("info %s " % line.split()[1])
