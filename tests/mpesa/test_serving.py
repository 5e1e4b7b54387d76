"""The sockets the HTTP servers (callback receiver, portal, Daraja simulator) listen on."""

from __future__ import annotations

import asyncio
import socket

from scheduler.mpesa.serving import bind


def test_connections_accepted_on_a_bound_socket_send_each_answer_at_once():
    """uvicorn writes an answer's headers and body separately: with Nagle's algorithm on, the
    body waited for the client's delayed ACK, about 40 ms per request."""

    async def accept_one() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=bind("127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(accepted, 10)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(accept_one()) != 0
