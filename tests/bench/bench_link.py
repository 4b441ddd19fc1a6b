"""A real link for the benchmarks: two network namespaces joined by a veth
pair, each end optionally shaped to 1 Gbit/s by tc (tbf).  Needs root,
iproute2 and tc; can_netns() says whether this machine has them.

The source runs in NS_SRC and reaches the destination at IP_DST in NS_DST
(wrap() puts a command in a namespace)."""
import json
import os
import shutil
import subprocess

NS_SRC, NS_DST = "qmigbench-src", "qmigbench-dst"
IP_SRC, IP_DST = "10.77.0.1", "10.77.0.2"


def can_netns():
    return os.geteuid() == 0 and shutil.which("ip") and shutil.which("tc")


def wrap(ns, argv):
    """argv run in namespace ns (as it is when ns is empty)."""
    return ["ip", "netns", "exec", ns] + argv if ns else argv


def netns_up(shaped):
    """Two namespaces joined by a veth pair, each end shaped to 1 Gbit/s
    when shaped."""
    netns_down()
    cmds = [f"ip netns add {NS_SRC}", f"ip netns add {NS_DST}",
            f"ip link add qmb0 netns {NS_SRC} type veth peer name qmb1 netns {NS_DST}",
            f"ip -n {NS_SRC} addr add {IP_SRC}/24 dev qmb0",
            f"ip -n {NS_DST} addr add {IP_DST}/24 dev qmb1",
            f"ip -n {NS_SRC} link set qmb0 up", f"ip -n {NS_DST} link set qmb1 up",
            f"ip -n {NS_SRC} link set lo up", f"ip -n {NS_DST} link set lo up"]
    for ns, dev in ((NS_SRC, "qmb0"), (NS_DST, "qmb1")) if shaped else ():
        cmds.append(f"ip netns exec {ns} tc qdisc add dev {dev} root tbf rate 1gbit "
                    "burst 256kb latency 20ms")
    for c in cmds:
        subprocess.run(c.split(), check=True)


def netns_down():
    for ns in (NS_SRC, NS_DST):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def rx_bytes(net):
    """Bytes the destination's veth end received so far (None: no netns)."""
    if not net:
        return None
    out = subprocess.run(["ip", "-n", NS_DST, "-s", "-j", "link", "show", "dev", "qmb1"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]["stats64"]["rx"]["bytes"]
