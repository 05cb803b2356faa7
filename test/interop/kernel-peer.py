#!/usr/bin/env python3
"""The kernel side of the interop tests: an MPTCP (or --tcp) socket that sends and checks the i % 251 pattern.

  kernel-peer.py server --port P [--bind A] [--send N | --time S] [--tcp] [--abort-after B] [--cc C]
  kernel-peer.py client HOST --port P [--bind A] [--send N | --time S] [--tcp] [--abort-after B] [--cc C]

Once connected it sends N pattern bytes, or for S seconds, (then SHUT_WR) while it receives until EOF, checking every byte
against the pattern. With --abort-after B it stops after receiving B bytes (or at once with B = 0) and
closes with SO_LINGER 0, which makes Linux send MP_FASTCLOSE (plain TCP: RST). Every 100 ms it samples the
kernel's MPTCP_INFO and per-subflow tcp_info, keeping per subflow (local, remote) the largest byte counts.

Prints JSON lines: {"event": "listening"} (server), {"event": "connected", ...}, and at the end
{"event": "done", "received", "intact", "firstBad", "sent", "error", "seconds", "mptcp", "subflows", ...}.
"""
import argparse
import ctypes
import json
import socket
import struct
import sys
import threading
import time

IPPROTO_MPTCP = getattr(socket, "IPPROTO_MPTCP", 262)
SOL_MPTCP = 284
MPTCP_INFO = 1
MPTCP_TCPINFO = 2
MPTCP_SUBFLOW_ADDRS = 3
PERIOD = 251
PATTERN = bytes(i % PERIOD for i in range(PERIOD * 4096))
CHUNK = PERIOD * 1024
LIBC = ctypes.CDLL(None, use_errno=True)


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def subflow_data(sock, opt, item_size, count=16):
    """A MPTCP_TCPINFO / MPTCP_SUBFLOW_ADDRS dump as a list of items. The kernel reads the request header
    (struct mptcp_subflow_data) from the buffer, which socket.getsockopt cannot pass: libc is called."""
    buf = bytearray(16 + item_size * count)
    struct.pack_into("IIII", buf, 0, 16, 0, 0, item_size)
    cbuf = (ctypes.c_char * len(buf)).from_buffer(buf)
    length = ctypes.c_uint32(len(buf))
    if LIBC.getsockopt(sock.fileno(), SOL_MPTCP, opt, cbuf, ctypes.byref(length)) != 0:
        raise OSError(ctypes.get_errno(), "getsockopt")
    _, num, size_kernel, size_user = struct.unpack_from("IIII", buf)
    size = min(size_kernel, size_user)
    return [bytes(buf[16 + i * size_user: 16 + i * size_user + size]) for i in range(min(num, count))]


def sockaddr(b):
    family = struct.unpack_from("H", b)[0]
    if family == socket.AF_INET:
        port = struct.unpack_from("!H", b, 2)[0]
        return f"{socket.inet_ntop(socket.AF_INET, b[4:8])}:{port}"
    if family == socket.AF_INET6:
        port = struct.unpack_from("!H", b, 2)[0]
        return f"[{socket.inet_ntop(socket.AF_INET6, b[8:24])}]:{port}"
    return "?"


class Sampler:
    """Samples the MPTCP socket's info; subflows keyed by 'local>remote' keep their largest counters."""

    def __init__(self, sock):
        self.sock = sock
        self.lock = threading.Lock()
        self.info = None
        self.subflows = {}
        self.max_subflows = 0
        self.stop = threading.Event()

    def sample(self):
        try:
            info = self.sock.getsockopt(SOL_MPTCP, MPTCP_INFO, 256)
        except OSError:
            return
        if len(info) < 80:
            return
        n, signal, accepted = info[0], info[1], info[2]
        flags, token = struct.unpack_from("II", info, 8)
        try:
            tcpinfos = subflow_data(self.sock, MPTCP_TCPINFO, 256)
            addrs = subflow_data(self.sock, MPTCP_SUBFLOW_ADDRS, 256)
        except OSError:
            tcpinfos, addrs = [], []
        with self.lock:
            self.info = {"subflows": n, "addAddrSignal": signal, "addAddrAccepted": accepted,
                         "flags": flags, "token": token}
            self.max_subflows = max(self.max_subflows, n)
            for ti, ad in zip(tcpinfos, addrs):
                if len(ti) < 136 or len(ad) < 256:
                    continue
                key = f"{sockaddr(ad[:128])}>{sockaddr(ad[128:256])}"
                acked, received = struct.unpack_from("QQ", ti, 120)
                sent = struct.unpack_from("Q", ti, 200)[0] if len(ti) >= 208 else 0
                old = self.subflows.get(key, {"bytesAcked": 0, "bytesReceived": 0, "bytesSent": 0})
                self.subflows[key] = {"bytesAcked": max(old["bytesAcked"], acked),
                                      "bytesReceived": max(old["bytesReceived"], received),
                                      "bytesSent": max(old["bytesSent"], sent)}

    def run(self):
        while not self.stop.wait(0.1):
            self.sample()

    def report(self):
        with self.lock:
            return {"info": self.info, "maxSubflows": self.max_subflows, "subflowStats": self.subflows}


def is_mptcp(sock):
    try:
        return len(sock.getsockopt(SOL_MPTCP, MPTCP_INFO, 256)) >= 80
    except OSError:
        return False


def set_cc(sock, cc):
    if cc:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())


def run(sock, args, t0):
    result = {"received": 0, "intact": True, "firstBad": None, "sent": 0, "error": None}
    sampler = Sampler(sock) if not args.tcp else None
    if sampler:
        threading.Thread(target=sampler.run, daemon=True).start()

    def sender():
        try:
            until = time.monotonic() + args.time if args.time else None
            while result["sent"] < args.send or (until and time.monotonic() < until):
                off = result["sent"] % PERIOD
                n = min(CHUNK, args.send - result["sent"]) if not until else CHUNK
                result["sent"] += sock.send(memoryview(PATTERN)[off:off + n])
            # A receive-only peer half-closes only at the end: Linux accepts no new subflow (MP_JOIN) on a
            # connection that is no longer ESTABLISHED at the data level.
            if args.send > 0 or args.time:
                sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            result["error"] = result["error"] or f"send: {e.strerror or e}"

    tx = threading.Thread(target=sender, daemon=True)
    if args.abort_after is None:
        tx.start()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    try:
        while True:
            if args.abort_after is not None and result["received"] >= args.abort_after:
                break
            n = sock.recv_into(buf)
            if n == 0:
                break
            at = result["received"]
            if result["intact"]:
                off = at % PERIOD
                done = 0
                while done < n:
                    k = min(n - done, len(PATTERN) - PERIOD)
                    if view[done:done + k] != PATTERN[off:off + k]:
                        for j in range(k):
                            if buf[done + j] != PATTERN[(off + j) % PERIOD]:
                                result["intact"], result["firstBad"] = False, at + done + j
                                break
                        break
                    done += k
                    off = (off + k) % PERIOD
            result["received"] = at + n
    except OSError as e:
        result["error"] = f"recv: {e.strerror or e}"
    if tx.is_alive():
        tx.join(timeout=30)
    if sampler:
        sampler.sample()
        sampler.stop.set()
        result.update(sampler.report())
    result["mptcp"] = is_mptcp(sock)
    if args.abort_after is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        result["aborted"] = True
    sock.close()
    result["seconds"] = time.monotonic() - t0
    emit(event="done", **result)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    for name in ("server", "client"):
        p = sub.add_parser(name)
        if name == "client":
            p.add_argument("host")
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--bind", default="")
        p.add_argument("--send", type=int, default=0)
        p.add_argument("--time", type=float, default=0, help="send for this many seconds instead")
        p.add_argument("--tcp", action="store_true")
        p.add_argument("--abort-after", type=int)
        p.add_argument("--cc", default="")
    args = ap.parse_args()
    proto = socket.IPPROTO_TCP if args.tcp else IPPROTO_MPTCP
    # IPv6 when an address given is IPv6.
    v6 = ":" in (args.bind or "") or ":" in getattr(args, "host", "")
    family = socket.AF_INET6 if v6 else socket.AF_INET
    if args.mode == "server":
        ls = socket.socket(family, socket.SOCK_STREAM, proto)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        set_cc(ls, args.cc)
        ls.bind((args.bind or "0.0.0.0", args.port))
        ls.listen(8)
        emit(event="listening", port=args.port)
        sock, peer = ls.accept()
        # The listener stays open: the peer's MP_JOIN SYNs arrive through it.
    else:
        sock = socket.socket(family, socket.SOCK_STREAM, proto)
        set_cc(sock, args.cc)
        if args.bind:
            sock.bind((args.bind, 0))
        sock.connect((args.host, args.port))
        peer = sock.getpeername()
    t0 = time.monotonic()
    emit(event="connected", peer="%s:%d" % peer[:2], local="%s:%d" % sock.getsockname()[:2],
         mptcp=is_mptcp(sock))
    run(sock, args, t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
