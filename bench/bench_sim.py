"""How much the simulator adds on top of librouteros decoding a print of 10,000 / 50,000 users.

For each size it prints the time librouteros needs to receive a full print and a proplist
print from the simulator over TCP, next to the time the same client needs to decode the very
same reply bytes replayed from a prerecorded buffer (the client-side floor), and the ratio.
Two floors are shown: from memory (io.BytesIO), which no TCP server can approach since the
client's own recv calls cost more than the decoding, and from a loopback socket set up exactly as
librouteros.connect() sets up its own (same timeout, so the same poll + recv per read) and fed by a
thread: the floor of any server over TCP. Target: serving <= 1.25 x the socket floor.

    .venv/bin/python bench/bench_sim.py [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import io
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import librouteros  # noqa: E402
from librouteros.api import Api  # noqa: E402
from librouteros.protocol import ApiProtocol, encode_sentence  # noqa: E402

from bench.simprocess import start_wisp_sim  # noqa: E402

CLIENT_TIMEOUT = 10.0
"""librouteros.connect()'s default timeout, which the served run's socket has."""

PRINTS = {
    "full print": ("/ip/hotspot/user/print",),
    "proplist print": ("/ip/hotspot/user/print", "=.proplist=.id,name,profile,disabled"),
    "query+proplist": ("/ip/hotspot/user/print", "=.proplist=.id,name", "?=disabled=true"),
}


class _MemoryTransport:
    """librouteros transport reading a prerecorded reply from memory."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def read(self, length: int) -> bytes:
        return self._buffer.read(length)

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def _record(port: int, words: tuple[str, ...]) -> bytes:
    """The raw reply bytes of one command, read up to and including its !done."""
    api = librouteros.connect("127.0.0.1", "admin", "", port=port, encoding="utf-8")
    sock = api.protocol.transport.sock
    sock.sendall(encode_sentence(*words, encoding="utf-8"))
    received = bytearray()
    done = b"\x05!done"
    while True:
        received += sock.recv(1 << 20)
        end = received.rfind(done)
        if end >= 0 and received.endswith(b"\x00", end):
            api.close()
            return bytes(received)


def _decode_from_memory(data: bytes) -> int:
    api = Api(ApiProtocol(_MemoryTransport(data), "utf-8"))
    return len(api.readResponse())


def _decode_from_socket(data: bytes) -> int:
    # A loopback TCP connection, like the real one, fed by a thread with the recorded bytes.
    listener = socket.create_server(("127.0.0.1", 0))
    ours = socket.create_connection(listener.getsockname())
    # The same socket mode as the served run: librouteros.connect() sets a timeout, and CPython
    # then polls before every recv, which roughly doubles the system calls of a read.
    ours.settimeout(CLIENT_TIMEOUT)
    theirs, _ = listener.accept()
    listener.close()
    feeder = threading.Thread(target=theirs.sendall, args=(data,))
    feeder.start()
    api = Api(ApiProtocol(librouteros.connections.SocketTransport(ours), "utf-8"))
    rows = len(api.readResponse())
    feeder.join()
    ours.close()
    theirs.close()
    return rows


def _best(run: Callable[[], int], repeat: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = run()
        times.append(time.perf_counter() - started)
    return min(times), rows


def _bench_size(users: int, repeat: int) -> None:
    started = time.perf_counter()
    process, port = start_wisp_sim(users)
    seeded = time.perf_counter() - started
    try:
        api = librouteros.connect("127.0.0.1", "admin", "", port=port, encoding="utf-8")
        print(f"\n{users:,} hotspot users (simulator started and seeded in {seeded:.2f} s)")
        print(
            f"  {'':16} {'rows':>6} {'served':>9} {'floor mem':>10} {'floor sock':>11} {'x mem':>6} {'x sock':>7}"
        )
        for label, words in PRINTS.items():
            served, rows = _best(lambda w=words: len(list(api.rawCmd(*w))), repeat)
            data = _record(port, words)
            memory, _ = _best(lambda d=data: _decode_from_memory(d), repeat)
            sock, _ = _best(lambda d=data: _decode_from_socket(d), repeat)
            print(
                f"  {label:16} {rows:6d} {served * 1000:7.1f}ms {memory * 1000:8.1f}ms {sock * 1000:9.1f}ms"
                f" {served / memory:6.2f} {served / sock:7.2f}"
            )
        api.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 5,000 users, fewer repeats")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (best is kept)")
    args = parser.parse_args()
    sizes = (1_000, 5_000) if args.quick else (10_000, 50_000)
    for users in sizes:
        _bench_size(users, 2 if args.quick else args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
