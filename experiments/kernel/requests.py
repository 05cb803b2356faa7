#!/usr/bin/env python3
"""The Linux kernel's MPTCP in sched-redundant's request pattern, on ../shared/testbed (root).

The client writes a request (a 4-byte length, then SIZE bytes) as soon as the server's 1-byte answer to the
previous one arrives, and times each from the write to the answer; WARM requests go unmeasured while the
second subflow joins, and the run fails if it has not joined by then. Sizes are in bytes, as the simulator's
(10 KB there is 10000). Both ends set CUBIC per socket: the test bed's namespaces keep the host's default
(BBR here), which a namespace may not change. Prints the mean, the median, the 90th percentile and the
counts in sched-redundant's buckets (ms).

  testbed/testbed.sh up --paths 2 --rate 50 --delay 50 --loss 2 --queue-ms 240
  ip netns exec mpt-srv python3 experiments/kernel/requests.py server 7000 &
  ip netns exec mpt-cli python3 experiments/kernel/requests.py client 10.1.1.1 7000 10000 5 200
"""
import socket
import struct
import sys
import time

IPPROTO_MPTCP = getattr(socket, "IPPROTO_MPTCP", 262)
SOL_MPTCP = 284
MPTCP_INFO = 1  # struct mptcp_info: its first byte counts the subflows beyond the initial one
BUCKETS_MS = [(0, 115), (115, 160), (160, 215), (215, 260), (260, 330), (330, float("inf"))]


def tuned(s):
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
    return s


def recv_exactly(c, n):
    b = bytearray()
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise EOFError
        b += x
    return b


def server(port):
    ls = tuned(socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP))
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(8)
    while True:
        c, _ = ls.accept()
        tuned(c)
        try:
            while True:
                (n,) = struct.unpack("!I", recv_exactly(c, 4))
                recv_exactly(c, n)
                c.sendall(b"x")
        except EOFError:
            c.close()


def client(host, port, size, warm, count):
    s = tuned(socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP))
    s.connect((host, port))
    request = struct.pack("!I", size) + bytes(size)
    times = []
    for i in range(warm + count):
        t0 = time.monotonic()
        s.sendall(request)
        recv_exactly(s, 1)
        if i == warm - 1 and s.getsockopt(SOL_MPTCP, MPTCP_INFO, 64)[0] < 1:
            sys.exit("the second subflow has not joined: nothing measured")
        if i >= warm:
            times.append((time.monotonic() - t0) * 1000)
    s.close()
    times.sort()
    buckets = [sum(1 for t in times if lo <= t < hi) for lo, hi in BUCKETS_MS]
    print(f"{size} B: mean {sum(times) / len(times):.1f} ms, median {times[len(times) // 2]:.1f}, "
          f"p90 {times[int(len(times) * 0.9)]:.1f}, buckets {buckets}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]))
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
