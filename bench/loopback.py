"""What the benchmarks that start servers share: a free port on loopback, and waiting until something listens.

    sys.path.insert(0, str(ROOT / "bench")); from loopback import free_port, wait_until_listening
"""
from __future__ import annotations

import asyncio
import socket

HOST = "127.0.0.1"


def free_port() -> int:
    """A port on loopback that nothing listens on now (for a server started in another process)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


async def wait_until_listening(port: int, seconds: float = 10.0) -> None:
    """Return once a connection to the port succeeds; SystemExit after `seconds` (bounded: 50 ms steps)."""
    for _ in range(int(seconds / 0.05)):
        try:
            _reader, writer = await asyncio.open_connection(HOST, port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise SystemExit(f"nothing listens on {port} after {seconds:.0f} s")
