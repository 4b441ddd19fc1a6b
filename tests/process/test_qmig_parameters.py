"""qmig's own migration parameters (the x- rows QEMU 7.2 does not have).

Set through HMP and QMP like QEMU's parameters; invisible while at their
default, so that `info migrate_parameters` and query-migrate-parameters
stay QEMU 7.2's byte for byte; shown after QEMU's once set.  Then each one
driven through a real migration: the engine must see it.

Last, the one test-only setting left in the environment, QMIG_XBZRLE
(which XBZRLE encoder runs; all write the same bytes), read by qmig's
main() and never by library code."""
import os

import pytest

from harness import (Qmig, diff_pages, fixture_out, free_port, migcheck, poll,
                     qmig_bin, ram_equal, run_piped)

MiB = 1 << 20

# name, the default and another value (each as HMP text and QMP JSON), a
# bad HMP value and its error, a QMP value of the wrong type and its error
XPARAMS = [
    ("x-xbzrle-bulk-fill", ("on", True), ("off", False),
     ("maybe", "Parameter 'x-xbzrle-bulk-fill' expects 'on' or 'off'"),
     (1, "Invalid parameter type for 'x-xbzrle-bulk-fill', expected: "
         "boolean")),
    ("x-compress-engine", ("auto", "auto"), ("zlib", "zlib"),
     ("gzip", "Parameter 'x-compress-engine' does not accept value 'gzip'"),
     (True, "Invalid parameter type for 'x-compress-engine', expected: "
            "string")),
    ("x-decompress-engine", ("libdeflate", "libdeflate"), ("zlib", "zlib"),
     ("igzip",
      "Parameter 'x-decompress-engine' does not accept value 'igzip'"),
     (None, "Invalid parameter type for 'x-decompress-engine', expected: "
            "string")),
]
IDS = [p[0] for p in XPARAMS]


def qemu_params():
    return fixture_out("info-fresh", "info migrate_parameters")


@pytest.mark.parametrize("name,default,other,bad,bad_qmp", XPARAMS, ids=IDS)
def test_hmp_hidden_until_set(name, default, other, bad, bad_qmp):
    r = run_piped("info migrate_parameters\n"
                  "migrate_set_parameter %s %s\n"
                  "info migrate_parameters\n"
                  "migrate_set_parameter %s %s\n"
                  "migrate_set_parameter %s %s\n"
                  "info migrate_parameters\n"
                  % (name, other[0], name, bad[0], name, default[0]))
    qemu = qemu_params()
    assert r.stdout == qemu + qemu + "%s: %s\n" % (name, other[0]) + qemu
    assert r.stderr == "qmig: line 4: %s\n" % bad[1]
    assert r.returncode == 1


@pytest.mark.parametrize("name,default,other,bad,bad_qmp", XPARAMS, ids=IDS)
def test_qmp_hidden_until_set(tmp_path, name, default, other, bad, bad_qmp):
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], name="q", qmp=True)
    try:
        c = q.qmp()
        fresh = c.ok("query-migrate-parameters")
        assert len(fresh) == 26 and name not in fresh
        assert c.err("migrate-set-parameters", {name: bad_qmp[0]}) == \
            bad_qmp[1]
        assert c.ok("migrate-set-parameters", {name: other[1]}) == {}
        now = c.ok("query-migrate-parameters")
        assert list(now) == list(fresh) + [name]
        assert now[name] == other[1]
        # what HMP prints through QMP agrees
        hmp = c.ok("human-monitor-command",
                   {"command-line": "info migrate_parameters"})
        assert hmp.endswith("%s: %s\r\n" % (name, other[0]))
        # back to the default: hidden again
        assert c.ok("migrate-set-parameters", {name: default[1]}) == {}
        assert c.ok("query-migrate-parameters") == fresh
    finally:
        q.kill()


def migrate(spawn, tmp_path, src_args, src_cmds, dst_cmds=(), passes=3,
            middle=()):
    """A migration slow enough for several passes while the workload
    writes, then converging; RAM compared; the source's `info migrate`."""
    uri = "tcp:127.0.0.1:%d" % free_port()
    dst = spawn(["-m", "32M", "-S", "-incoming", "defer"], name="dst")
    for c in dst_cmds:
        assert dst.hmp(c) == "", c
    assert dst.hmp("migrate_incoming " + uri) == ""
    src = spawn(["-m", "32M"] + src_args, name="src")
    for c in list(src_cmds) + ["migrate_set_parameter max-bandwidth 16M",
                               "migrate_set_parameter downtime-limit 1"]:
        assert src.hmp(c) == "", c
    assert src.hmp("migrate -d " + uri) == ""
    poll(lambda: int(migcheck.parse_info(src.info_migrate())
                     .get("dirty sync count", "0")) >= passes,
         120, 0.02, "%d dirty syncs" % passes)
    for c in middle:
        assert src.hmp(c) == "", c
    assert src.hmp("migrate_set_parameter downtime-limit 2000") == ""
    assert src.hmp("migrate_set_parameter max-bandwidth 1g") == ""
    src.wait_status("completed", 120)
    assert dst.wait_status("completed", 60)
    a = src.pmemsave(str(tmp_path / "src.img"), 32 * MiB)
    b = dst.pmemsave(str(tmp_path / "dst.img"), 32 * MiB)
    assert ram_equal(a, b), "RAM differs at pages %s" % diff_pages(a, b)
    return migcheck.parse_info(src.info_migrate())


def count(info, name):
    return int(info[name].split()[0])


@pytest.fixture
def dense_image(tmp_path):
    """32 MiB without a zero page: every page is cached in the bulk pass
    when the bulk pass fills the cache."""
    path = tmp_path / "dense.img"
    path.write_bytes(os.urandom(32 * MiB))
    return str(path)


@pytest.mark.parametrize("fill", ["on", "off"])
def test_xbzrle_bulk_fill(spawn, tmp_path, dense_image, fill):
    """on (qmig's rule): re-sent pages are deltas from the first re-send;
    the only possible miss is page 0, which names the block and is never
    cached in the bulk pass.  off (QEMU 7.2's rule): every re-sent page
    misses once first."""
    info = migrate(spawn, tmp_path,
                   ["-workload", "image=" + dense_image,
                    "-workload", "random,rate=8M,area=8M"],
                   ["migrate_set_capability xbzrle on",
                    "migrate_set_parameter x-xbzrle-bulk-fill " + fill])
    if fill == "on":
        assert count(info, "xbzrle pages") > 0
        assert count(info, "xbzrle cache miss") <= 1
    else:
        assert count(info, "xbzrle cache miss") >= 2


COMPRESS_SRC = ["-workload", "idle", "-workload", "random,rate=8M,area=8M"]


@pytest.mark.parametrize("engine", ["zlib", "libdeflate", "igzip"])
def test_compress_engine(spawn, tmp_path, engine):
    """Each engine's stream loads on a qmig destination (zlib decides)."""
    info = migrate(spawn, tmp_path, COMPRESS_SRC,
                   ["migrate_set_capability compress on",
                    "migrate_set_parameter compress-threads 2",
                    "migrate_set_parameter x-compress-engine " + engine],
                   ["migrate_set_capability compress on"])
    assert count(info, "compression pages") > 0


@pytest.mark.parametrize("engine", ["zlib", "libdeflate"])
def test_decompress_engine(spawn, tmp_path, engine):
    """The destination inflates with either; QEMU 7.2's bytes (zlib
    engine) into zlib alone is QEMU's own combination."""
    info = migrate(spawn, tmp_path, COMPRESS_SRC,
                   ["migrate_set_capability compress on",
                    "migrate_set_parameter x-compress-engine zlib"],
                   ["migrate_set_capability compress on",
                    "migrate_set_parameter x-decompress-engine " + engine])
    assert count(info, "compression pages") > 0


def test_compress_engine_changed_during_migration(spawn, tmp_path):
    """A change between passes rebuilds the pool; the RAM still arrives."""
    info = migrate(spawn, tmp_path, COMPRESS_SRC,
                   ["migrate_set_capability compress on",
                    "migrate_set_parameter compress-threads 2"],
                   ["migrate_set_capability compress on"],
                   middle=["migrate_set_parameter x-compress-engine zlib"])
    assert count(info, "compression pages") > 0


def cpu_runs_avx512():
    with open("/proc/cpuinfo") as f:
        flags = f.read().split()
    return "avx512f" in flags and "avx512bw" in flags


@pytest.mark.parametrize("value,why", [
    ("bogus", "no such XBZRLE encoder (c, sse2, avx2, avx512)"),
    ("AVX2", "no such XBZRLE encoder (c, sse2, avx2, avx512)"),
    ("avx512", "this CPU cannot run it"),
])
def test_xbzrle_variant_setting_refused(value, why):
    if value == "avx512" and cpu_runs_avx512():
        pytest.skip("this CPU runs AVX-512")
    r = run_piped("info status\n", env=dict(os.environ, QMIG_XBZRLE=value))
    assert r.stderr == "qmig: QMIG_XBZRLE=%s ignored: %s\n" % (value, why)
    assert r.stdout == "VM status: running\n"
    assert r.returncode == 0


@pytest.mark.parametrize("variant", ["c", "sse2"])
def test_xbzrle_variant_setting(spawn, tmp_path, monkeypatch, dense_image,
                                variant):
    """A migration whose deltas come from the portable encoder (or SSE2,
    the x86-64 baseline) arrives whole."""
    monkeypatch.setenv("QMIG_XBZRLE", variant)
    r = run_piped("info status\n")
    assert (r.stdout, r.stderr) == ("VM status: running\n", "")
    info = migrate(spawn, tmp_path,
                   ["-workload", "image=" + dense_image,
                    "-workload", "random,rate=8M,area=8M"],
                   ["migrate_set_capability xbzrle on"])
    assert count(info, "xbzrle pages") > 0
