"""The monitor on a piped stdin: no prompt, no echo, each command's output
exactly, errors on stderr as "qmig: line N: TEXT", exit status 1 if any
command failed, end of input = quit after the commands before it."""

import json
import os
import subprocess

from harness import HMP_FIXTURES, Qmig, free_port, poll, qmig_bin, run_piped, scaled

CAPS_XBZRLE_ON = ("xbzrle: on\n" + "".join("%s: off\n" % c for c in (
    "rdma-pin-all auto-converge zero-blocks compress events postcopy-ram x-colo "
    "release-ram block return-path pause-before-switchover multifd dirty-bitmaps "
    "postcopy-blocktime late-block-activate x-ignore-shared validate-uuid "
    "background-snapshot zero-copy-send postcopy-preempt").split()))


def test_stdio_piped_script():
    """QEMU's stdio-piped.json script: QEMU echoes and prints errors on
    stdout with exit 0; qmig's script mode prints output only."""
    with open(os.path.join(HMP_FIXTURES, "stdio-piped.json")) as f:
        qemu = json.load(f)
    r = run_piped(qemu["stdin"])
    assert r.stdout == "VM status: running\n" + CAPS_XBZRLE_ON
    assert r.stderr == ("qmig: line 2: Parameter 'compress_level' expects a value "
                        "between 0 and 9\n"
                        "qmig: line 3: unknown command: 'foo'\n")
    assert r.returncode == 1


def test_success_exits_zero_and_eof_quits():
    r = run_piped("info status\nstop\ninfo status\n")
    assert (r.stdout, r.stderr, r.returncode) == (
        "VM status: running\nVM status: paused\n", "", 0)


def test_blank_and_comment_lines_count_but_are_skipped():
    r = run_piped("\n# a comment\n   # indented comment\n\t\nfoo\r\n  info status  \n")
    assert r.stdout == "VM status: running\n"
    assert r.stderr == "qmig: line 5: unknown command: 'foo'\n"
    assert r.returncode == 1


def test_quit_stops_reading():
    r = run_piped("info status\nquit\ninfo status\nfoo\n")
    assert (r.stdout, r.stderr, r.returncode) == ("VM status: running\n", "", 0)
    r = run_piped("foo\nq\ninfo status\n")
    assert (r.stdout, r.stderr, r.returncode) == (
        "", "qmig: line 1: unknown command: 'foo'\n", 1)


def test_multi_line_errors_prefix_each_line():
    r = run_piped("migrate_set_parameter downtime-limit abc\nmigrate\n")
    assert r.stderr == (
        "qmig: line 1: Parameter 'downtime-limit' expects a non-negative number below 2^64\n"
        "qmig: line 1: Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
        "qmig: line 1: and exabytes, respectively.\n"
        "qmig: line 2: migrate: string expected\n"
        "qmig: line 2: Try \"help migrate\" for more information\n")
    assert r.stdout == "" and r.returncode == 1


def test_output_and_errors_interleave_in_order(tmp_path):
    """stdout and stderr are flushed after each command."""
    out = tmp_path / "both"
    with open(out, "w") as f:
        p = subprocess.run([qmig_bin(), "-m", "64M"], input="info status\nfoo\ninfo status\n",
                           stdout=f, stderr=subprocess.STDOUT, text=True, timeout=scaled(30))
    assert out.read_text() == ("VM status: running\nqmig: line 2: unknown command: 'foo'\n"
                               "VM status: running\n")
    assert p.returncode == 1


def test_blocking_migrate_in_a_script(tmp_path):
    """`migrate URI` waits for the end; the next lines see it completed."""
    port = free_port()
    dst = Qmig(qmig_bin(), tmp_path, ["-m", "64M", "-incoming", "tcp:127.0.0.1:%d" % port], name="dst", connect=False)
    try:
        d = dst.session()
        r = run_piped("migrate_set_parameter max-bandwidth 256m\n"
                      "migrate tcp:127.0.0.1:%d\ninfo status\n"
                      "migrate tcp:127.0.0.1:%d\n" % (port, port),
                      args=["-workload", "idle"], timeout=120)
        assert r.stdout == "VM status: paused (postmigrate)\n"
        assert r.stderr == ("qmig: line 4: Can't migrate the vm that was paused due "
                            "to previous migration\n")
        assert r.returncode == 1
        # The destination finishes its load just after the source completes.
        poll(lambda: d.hmp("info status") == "VM status: running\n",
                 what="the destination to run")
    finally:
        dst.close()


def test_blocking_migrate_failure_is_the_lines_error():
    r = run_piped("migrate tcp:127.0.0.1:1\ninfo status\n")
    assert r.stderr == "qmig: line 1: Failed to connect to '127.0.0.1:1': Connection refused\n"
    assert r.stdout == "VM status: running\n"
    assert r.returncode == 1
