#!/usr/bin/env bash
# bench_volunteer_link.sh — issue 16's (b) on a link of a given speed instead of loopback's memory
# speed: bench_volunteer_transport (MPI send/recv, unencrypted UCX active messages, sealed
# volunteer sessions) with the benchmark's traffic, and only it, shaped by the kernel to RATE on
# loopback — a token bucket (tc htb) on the ports the three methods use, as a NIC of that speed
# would pace them. Other loopback traffic is left alone.
#   bench/bench_volunteer_link.sh RATE [BENCH OPTIONS...]    e.g. 10gbit, 1gbit, 25gbit
# Needs root (tc on lo); restores lo's queueing discipline on exit, however it exits.
# Loopback unshaped: bench_volunteer_transport directly (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 || ! $1 =~ ^[0-9]+(\.[0-9]+)?[kmg]?bit$ ]]; then
  echo "usage: bench/bench_volunteer_link.sh RATE [bench_volunteer_transport options] (RATE: 10gbit, 1gbit, ...)" >&2
  exit 2
fi
rate=$1
shift
if [[ $(id -u) != 0 ]] || ! command -v tc >/dev/null; then
  echo "bench_volunteer_link.sh: needs root and tc (iproute2) to shape loopback" >&2
  exit 2
fi
if tc qdisc show dev lo | grep -q "qdisc htb 1:"; then
  echo "bench_volunteer_link.sh: lo already has an htb qdisc 1: (another run?); not touching it" >&2
  exit 2
fi
source scripts/mpi-env.sh

# Every flow of the benchmark has one end in 47104-48127 (a block of 1024, matched by one mask):
# the UCX listener at its first port, UCX's TCP data sockets (UCX_TCP_PORT_RANGE) and MPI's TCP
# transport (btl_tcp_port_*) inside it; the other ends are ephemeral ports, outside the block.
base=47104
mask=0xfc00
cleanup() { tc qdisc del dev lo root 2>/dev/null || true; }
trap cleanup EXIT INT TERM
# An HTB root without a default class sends unclassified traffic straight through; the filters
# put the block's packets in class 1:10, paced at RATE (its burst covers several 64 KiB loopback
# segments).
tc qdisc add dev lo root handle 1: htb
tc class add dev lo parent 1: classid 1:10 htb rate "$rate" ceil "$rate" burst 1mb cburst 1mb
tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip dport $base $mask flowid 1:10
tc filter add dev lo parent 1: protocol ip prio 2 u32 match ip sport $base $mask flowid 1:10
echo "bench_volunteer_link.sh: loopback ports $base-$((base + 1023)) shaped to $rate (tc htb)"

# UCX_TCP_CM_REUSEADDR: the listener's fixed port may still have connections of an earlier run in
# TIME_WAIT.
UCX_TCP_PORT_RANGE=$((base + 1))-$((base + 511)) UCX_TCP_CM_REUSEADDR=y \
  mpirun -n 2 --allow-run-as-root --oversubscribe -x UCX_TCP_PORT_RANGE -x UCX_TCP_CM_REUSEADDR --mca pml ob1 --mca btl self,tcp --mca btl_tcp_if_include lo \
  --mca btl_tcp_port_min_v4 $((base + 512)) --mca btl_tcp_port_range_v4 511 \
  build/bench/bench_volunteer_transport --port $base "$@"
tc -s class show dev lo | awk '/class htb 1:10/{p=1} p&&/Sent/{print "bench_volunteer_link.sh: shaped:" $0; exit}'
