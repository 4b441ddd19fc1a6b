"""Streams fed to a qmig destination, good and bad.

The cases are QEMU's own: tools/qemu_dest_checks.py builds every stream
(edits of the real QEMU 7.2 fixtures, synthetic streams) and
docs/qemu-7.2-dest-checks.json records what a real QEMU 7.2 destination did
with each: its exit status, its stderr, 'info migrate', 'info status' and
whether its RAM equalled the fixture image.  A qmig destination must do the
same: exit 1 with QEMU's lines (prefix 'qmig: ' instead of
'qemu-system-x86_64: ') or complete with the same RAM - never die of a
signal.  Cases that need QEMU's -global switches are left out (qmig has
none).  Then the same kind of damage to a stream that qmig wrote itself."""

import json
import os
import random
import subprocess
import sys
import time

import pytest

from harness import scaled

from harness import QEMU_FIXTURES as FIXTURES, SHARED, TOOLS
from harness import MonitorClosed, ram_equal, diff_pages

sys.path.insert(0, TOOLS)
import qemu_dest_checks as qdc  # noqa: E402

MiB = 1 << 20
CHECKS_JSON = os.path.join(SHARED, "docs", "qemu-7.2-dest-checks.json")
QEMU_PREFIX = "qemu-system-x86_64: "


def load_cases():
    with open(CHECKS_JSON) as f:
        results = {r["case"]: r for r in json.load(f)}
    # the stream paths are filled in per session (see streams())
    cases = qdc.cases(FIXTURES, "@WORK@")
    out = []
    for cs in cases:
        r = results[cs["name"]]
        if any(a == "-global" for a in cs["extra"]):
            continue
        out.append((cs, r))
    return out


CASES = load_cases()


@pytest.fixture(scope="session")
def stream_work(tmp_path_factory):
    return str(tmp_path_factory.mktemp("streams"))


def build_stream(cs, work):
    """Write the case's stream into work (as qemu_dest_checks.run_case
    does); returns its path."""
    cs = json.loads(json.dumps(cs).replace("@WORK@", work))
    path = cs["stream"]
    if os.path.exists(path) and cs["edit"] is None and cs.get("synth") is None:
        return path, cs
    if cs["edit"]:
        qdc.edit(cs["base"], path, *cs["edit"])
    elif cs.get("synth") is not None:
        opts = cs["synth"]
        if "--base" in opts:
            bp = opts[opts.index("--base") + 1]
            if not os.path.exists(bp):
                qdc.make_synth_base(cs["synth_target"], bp)
        subprocess.run([sys.executable, os.path.join(TOOLS, "qemu_stream_synth.py"),
                        cs["synth_target"], path] + opts, check=True,
                       stdout=subprocess.DEVNULL)
    assert os.path.getsize(path) > 0
    return path, cs


def rebuild_ram(stream, out, size):
    """RAM as tools/qemu_stream.py rebuilds it from the stream (for cases
    where docs say this rebuild equals what QEMU's destination held); a
    stream without RAM leaves it all zero."""
    subprocess.run([sys.executable, os.path.join(TOOLS, "qemu_stream.py"), "ram", stream,
                    "-o", out], check=True, stdout=subprocess.DEVNULL)
    if os.path.getsize(out) == 0:
        with open(out, "wb") as f:
            f.truncate(size)
    return out


def qemu_lines(log):
    return [l.replace(QEMU_PREFIX, "qmig: ", 1) for l in log.splitlines()]


def load(spawn, stream, ram_mib=16, caps=(), params=None, extra=(), name="dst"):
    """A qmig destination loading stream; with capabilities or parameters
    it starts with -incoming defer and gets them over HMP first."""
    args = ["-m", "%dM" % ram_mib] + list(extra)
    if caps or params:
        dst = spawn(args + ["-incoming", "defer"], name=name)
        for c in caps:
            assert dst.hmp("migrate_set_capability %s on" % c) == ""
        for k, v in (params or {}).items():
            assert dst.hmp("migrate_set_parameter %s %s" % (k, v)) == ""
        try:
            assert dst.hmp('migrate_incoming "exec:cat %s"' % stream) == ""
        except MonitorClosed:
            pass    # it failed and exited before the prompt came back
    else:
        dst = spawn(args + ["-incoming", "exec:cat %s" % stream], name=name, connect=False)
    return dst


def expect_failure(dst, qemu_log, timeout=30):
    rc = dst.wait_exit(timeout)
    assert rc >= 0, "qmig died of signal %d; stderr:\n%s" % (-rc, dst.stderr())
    assert rc == 1, "exit %d; stderr:\n%s" % (rc, dst.stderr())
    assert dst.stderr().splitlines() == qemu_lines(qemu_log)


def expect_success(dst, r, tmp_path, expected_img):
    if dst.sock is None:
        dst.connect()
    info = dst.wait_status("completed", 30)
    assert info == r["dest_info_migrate"].replace("\r\n", "\n")
    assert dst.hmp("info status") == r["dest_info_status"].replace("\r\n", "\n")
    size = r["dest_ram_mib"] * MiB
    got = dst.pmemsave(str(tmp_path / "dst.img"), size)
    assert ram_equal(got, expected_img), "RAM differs at %s" % diff_pages(got, expected_img)
    assert dst.stderr().splitlines() == qemu_lines(r.get("dest_log", ""))


@pytest.mark.parametrize("cs,r", CASES, ids=[cs["name"] for cs, _ in CASES])
def test_qemu_dest_case(spawn, tmp_path, stream_work, fixture_image, cs, r):
    stream, cs = build_stream(cs, stream_work)
    dst = load(spawn, stream, cs["ram"], cs["caps"], cs["params"], cs["extra"])
    if r["dest_status"] == "exited":
        expect_failure(dst, r["dest_log"])
        return
    assert r["dest_status"] == "completed"
    if r.get("ram_equals_fixture_image"):
        img = fixture_image(os.path.basename(cs["img"])[:-len(".ram.img.zst")])
    else:
        assert r.get("own_rebuild_equals_dest"), "no reference RAM for this case"
        img = rebuild_ram(stream, str(tmp_path / "expected.img"), r["dest_ram_mib"] * MiB)
    expect_success(dst, r, tmp_path, img)


def test_case_coverage():
    """The brief's list of damage is all among the cases run above."""
    names = {cs["name"] for cs, _ in CASES}
    for n in ("edit/truncated-mid-ram", "plain/dest-ram-32M", "edit/machine-pc",
              "edit/bad-magic", "edit/page-offset-beyond-ram",
              "edit/zero-record-flags-0x202", "edit/no-footers", "edit/ram-start-end-only",
              "edit/xbzrle-bad-runlength", "edit/compressed-payload-flipped",
              "compress/no-caps", "plain/no-caps", "xbzrle/no-caps",
              "compress/compress-cap", "compress-xbzrle/compress-cap"):
        assert n in names, n


# ---------------------------------------------------------------------------
# streams written by qmig itself


@pytest.fixture(scope="module")
def qmig_stream(qmig_bin, tmp_path_factory):
    """A stream qmig wrote (16 MiB, idle + random writes) and the source's
    RAM."""
    from harness import Qmig
    d = tmp_path_factory.mktemp("qmig-stream")
    stream, img = str(d / "qmig.stream"), str(d / "src.img")
    src = Qmig(qmig_bin, d, ["-m", "16M", "-workload", "idle", "-workload",
                             "random,rate=5M,area=4M"], name="src")
    try:
        assert src.hmp('migrate "exec:cat > %s"' % stream, timeout=60) == ""
        assert src.migration_status() == "completed"
        src.pmemsave(img, 16 * MiB)
    finally:
        src.close()
    return stream, img


def edit(src, dst, *ops):
    qdc.edit(src, dst, *ops)
    return dst


def test_qmig_stream_loads(spawn, tmp_path, qmig_stream):
    stream, img = qmig_stream
    dst = load(spawn, stream)
    dst.connect()
    dst.wait_status("completed", 30)
    got = dst.pmemsave(str(tmp_path / "dst.img"), 16 * MiB)
    assert ram_equal(got, img)
    assert dst.stderr() == ""


# damage -> QEMU's lines for the same damage (from qemu-7.2-dest-checks)
QMIG_STREAM_DAMAGE = [
    ("truncated-mid-ram", ["--truncate", "200000"], "edit/truncated-mid-ram"),
    ("page-offset-beyond-ram", ["--corrupt", "page:3", "--corrupt-mode", "addr=0x1000000"],
     "edit/page-offset-beyond-ram"),
    ("bad-magic", ["--set-magic", "0x5145564e"], "edit/bad-magic"),
    ("machine-pc", ["--set-machine", "pc"], "edit/machine-pc"),
    ("no-footers", ["--drop-footers"], "edit/no-footers"),
    ("no-configuration", ["--drop-config"], "edit/no-configuration"),
    ("block-renamed-rom", ["--rename-block", "ram", "rom"], "edit/block-renamed-rom"),
    ("no-eof-no-vmdesc", ["--drop-eof", "--drop-vmdesc"], "edit/no-eof-no-vmdesc"),
    ("unknown-section-timex", ["--rename-section", "timer", "timex"],
     "edit/unknown-section-timex"),
]


@pytest.mark.parametrize("name,ops,qemu_case", QMIG_STREAM_DAMAGE,
                         ids=[d[0] for d in QMIG_STREAM_DAMAGE])
def test_qmig_stream_damaged(spawn, tmp_path, qmig_stream, name, ops, qemu_case):
    stream = edit(qmig_stream[0], str(tmp_path / (name + ".stream")), *ops)
    ref = {r["case"]: r for _, r in CASES}[qemu_case]
    dst = load(spawn, stream)
    expect_failure(dst, ref["dest_log"])


def test_qmig_stream_flags_and_truncation(spawn, tmp_path, qmig_stream):
    """Unknown flags on a zero record; a cut right after the header."""
    stream = qmig_stream[0]
    bad = edit(stream, str(tmp_path / "f.stream"), "--corrupt", "zero:10",
               "--corrupt-mode", "flags=0x202")
    dst = load(spawn, bad, name="flags")
    rc = dst.wait_exit(30)
    err = dst.stderr().splitlines()
    assert rc == 1 and err[-2:] == ["qmig: error while loading state section id 2(ram)",
                                    "qmig: load of migration failed: Invalid argument"], err
    assert err[0].startswith("qmig: Unknown combination of migration flags: 0x2"), err
    cut = str(tmp_path / "cut.stream")
    with open(stream, "rb") as f, open(cut, "wb") as g:
        g.write(f.read(8))
    dst = load(spawn, cut, name="cut")
    assert dst.wait_exit(30) == 1
    # QEMU 7.2 reads the missing type byte as 0 (test_truncated_streams_as_qemu)
    assert dst.stderr().splitlines() == ["qmig: Configuration section missing",
                                         "qmig: load of migration failed: Invalid argument"]


def vmdesc_at(data):
    """Offset of the QEMU_VM_VMDESCRIPTION byte (0x06): a stream ends in
    EOF (0x00), 0x06, a be32 length and that many bytes of JSON."""
    for i in range(len(data) - 5, 0, -1):
        if data[i - 1] == 0 and data[i] == 6 and \
                i + 5 + int.from_bytes(data[i + 1:i + 5], "big") == len(data):
            return i
    raise AssertionError("the stream does not end in a vmdescription")


# where a cut of the vmdescription falls: bytes kept from its 0x06 byte on,
# for a JSON of n bytes
VMDESC_CUTS = {
    "type-byte-only": lambda n: 1,
    "half-the-length": lambda n: 3,
    "half-the-json": lambda n: 5 + n // 2,
    "one-byte-short": lambda n: 5 + n - 1,
}


def cut_vmdesc(src, dst, cut):
    with open(src, "rb") as f:
        data = f.read()
    at = vmdesc_at(data)
    keep = at + VMDESC_CUTS[cut](len(data) - at - 5)
    assert at < keep < len(data)
    with open(dst, "wb") as f:
        f.write(data[:keep])
    return dst


@pytest.mark.parametrize("cut", sorted(VMDESC_CUTS))
def test_cut_vmdescription_completes_like_qemu(spawn, tmp_path, fixture_image, cut):
    """QEMU 7.2 computes the load's result at EOF, before the
    vmdescription, and only reads that: QEMU's stream with its description
    cut short (even by one byte) completes as the whole stream does
    (plain/no-caps: same 'info migrate', status, RAM, and no message)."""
    stream = cut_vmdesc(os.path.join(FIXTURES, "plain.stream"),
                        str(tmp_path / "cut.stream"), cut)
    ref = {r["case"]: r for _, r in CASES}["plain/no-caps"]
    dst = load(spawn, stream)
    expect_success(dst, ref, tmp_path, fixture_image("plain"))


@pytest.mark.parametrize("cut", sorted(VMDESC_CUTS))
def test_cut_vmdescription_qemu_agrees(spawn_qemu, tmp_path, cut):
    """The expectation above, asked of QEMU 7.2 itself."""
    cut_vmdesc(os.path.join(FIXTURES, "plain.stream"), str(tmp_path / "cut.stream"), cut)
    q = spawn_qemu(incoming="exec:cat cut.stream", connect=False)
    assert outcome(q) == "completed", q.stderr()
    assert q.stderr() == ""


@pytest.mark.parametrize("cut", ["half-the-length", "one-byte-short"])
def test_qmig_stream_cut_vmdescription(spawn, tmp_path, qmig_stream, cut):
    stream, img = qmig_stream
    cut_stream = cut_vmdesc(stream, str(tmp_path / "cut.stream"), cut)
    dst = load(spawn, cut_stream)
    dst.connect()
    dst.wait_status("completed", 30)
    assert dst.vm_status() == "running"
    got = dst.pmemsave(str(tmp_path / "dst.img"), 16 * MiB)
    assert ram_equal(got, img), "RAM differs at %s" % diff_pages(got, img)
    assert dst.stderr() == ""


def outcome(dst, timeout=30):
    """'completed' once the destination says so, 'exited' if the process
    ends first."""
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if not dst.alive():
            return "exited"
        try:
            if dst.sock is None:
                dst.connect(timeout=5)
            if dst.migration_status() == "completed":
                return "completed"
        except (AssertionError, OSError):
            # the monitor went away: the process is on its way out
            try:
                dst.proc.wait(scaled(5))
            except Exception:
                raise AssertionError("%s: monitor failed but the process lives on"
                                     % dst.name)
            return "exited"
        time.sleep(0.02)
    raise AssertionError("%s: neither completed nor exited; stderr:\n%s"
                         % (dst.name, dst.stderr()))


def test_mutated_streams_never_crash(spawn, tmp_path, qmig_stream):
    """Seeded random bit flips in record and section headers, and cuts at
    random places, of a stream qmig wrote: every load ends by itself with 0
    or 1, and with a 'load of migration failed' line when 1 - never a
    signal, never a hang."""
    import qemu_stream as qs
    with open(qmig_stream[0], "rb") as f:
        data = f.read()
    st = qs.Stream(data)
    heads = [(r["offset"], 8) for _, r in st.ram_records()]
    heads += [(it.start, min(it.end - it.start, 24)) for it in st.items]
    rnd = random.Random(7232)
    outcomes = set()
    for i in range(30):
        b = bytearray(data)
        if i % 3 == 0:
            b = b[:rnd.randrange(8, len(b))]
        else:
            for _ in range(rnd.randint(1, 3)):
                start, n = rnd.choice(heads)
                b[start + rnd.randrange(n)] ^= 1 << rnd.randrange(8)
        p = str(tmp_path / ("m%d.stream" % i))
        with open(p, "wb") as f:
            f.write(bytes(b))
        dst = load(spawn, p, name="m%d" % i, extra=["-S"])
        # -S + an exec stream: after a good load the process stays (it is
        # asked, then quits); after a bad one it exits 1 by itself
        o = outcome(dst)
        outcomes.add(o)
        if o == "completed":
            assert dst.quit() == 0
        else:
            rc = dst.wait_exit(30)
            assert rc == 1, "case %d: exit %s; stderr:\n%s" % (i, rc, dst.stderr())
            assert "load of migration failed: " in dst.stderr().splitlines()[-1], i
        os.unlink(p)
    # mutations do fail; whether one of the 30 happens to be harmless
    # depends on the stream the source wrote (its passes vary with timing),
    # and a good stream loading is test_qmig_stream_loads's
    assert "exited" in outcomes
