"""SimRouter: one simulated RouterOS router serving the API over TCP (and TLS)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import Counter
from pathlib import Path

from scheduler.sim.behaviour import Behaviour
from scheduler.sim.connection import Connection, RouterCore
from scheduler.sim.engine import MenuEngine
from scheduler.sim.factory import install_factory_config, install_resource
from scheduler.sim.faults import Faults
from scheduler.sim.login import Account
from scheduler.sim.loop import LoopThread
from scheduler.sim.seed import seed_mikhmon, seed_users
from scheduler.sim.sessions import Sessions
from scheduler.sim.state import load_state, save_state
from scheduler.sim.tls import server_context


class SessionControl:
    """Log simulated subscribers in from any thread (runs on the router's loop)."""

    def __init__(self, sessions: Sessions, loop: LoopThread) -> None:
        self._sessions = sessions
        self._loop = loop

    def login_hotspot(
        self, user: str, mac_address: str | None = None, address: str | None = None
    ) -> str:
        """Create /ip/hotspot/active and /ip/hotspot/cookie entries; returns the active id."""
        return self._loop.call(lambda: self._sessions.login_hotspot(user, mac_address, address))

    def login_ppp(self, name: str, address: str | None = None) -> str:
        """Create a /ppp/active entry; returns its id."""
        return self._loop.call(lambda: self._sessions.login_ppp(name, address))


class SimRouter:
    """A lab router speaking the RouterOS API; start() serves it in a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "admin",
        password: str = "",
        ros_version: str = "7.18.2",
        identity: str = "MikroTik",
        tls: bool = False,
        tls_port: int | None = None,
        tls_mode: str = "cert",
        seed_users: int = 0,
        seed_mikhmon: int = 0,
        state_file: str | Path | None = None,
        interfaces: int = 4,
        behaviour: Behaviour | None = None,
        loop_thread: LoopThread | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.ros_version = ros_version
        self.tls_port = (tls_port or 0) if tls else None
        self.tls_mode = tls_mode
        self.certificate_pem: bytes | None = None
        self.state_file = Path(state_file) if state_file else None
        self.behaviour = behaviour or Behaviour.for_version(ros_version)
        self.faults = Faults(self._listener_changed)
        self._own_loop = loop_thread is None
        self._loop = loop_thread or LoopThread()
        self._engine = MenuEngine(self.behaviour)
        self._core = RouterCore(
            self._engine, self.behaviour, Account(username, password), self.faults
        )
        self._sessions = Sessions(self._engine, self.behaviour)
        self.sessions = SessionControl(self._sessions, self._loop)
        self._servers: list[asyncio.Server] = []
        self._tls_context: ssl.SSLContext | None = None
        self._started = False
        self._down = False
        self._seed = seed_users
        self._seed_mikhmon = seed_mikhmon
        install_factory_config(self._engine, identity, interfaces, port or 1)
        install_resource(self._engine, self.behaviour, ros_version)

    @property
    def username(self) -> str:
        """The API user name."""
        return self._core.account.username

    @property
    def stats(self) -> Counter[str]:
        """Commands received, keyed by full command path (/ip/hotspot/user/add)."""
        return self._engine.stats

    def start(self) -> SimRouter:
        """Load state, seed users (and Mikhmon's vouchers), open the listening sockets; returns
        self."""
        if self.state_file is not None and self.state_file.exists():
            load_state(self._engine, self.state_file)
        if self._seed:
            seed_users(self._engine, self._sessions, self._seed)
        if self._seed_mikhmon:
            seed_mikhmon(self._engine, self._sessions, self.behaviour, self._seed_mikhmon)
        if self.tls_port is not None:
            self._tls_context, self.certificate_pem = server_context(self.tls_mode)
        self._loop.start()
        self._started = True
        try:
            self._loop.run(self._sync_listeners())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close listeners and connections, save the state file if one is set."""
        if self._started and self._loop.loop is not None:
            self._started = False
            self._loop.run(self._close_all())
        if self.state_file is not None:
            save_state(self._engine, self.state_file)
        if self._own_loop:
            self._loop.stop()

    def down(self) -> None:
        """Make the router unreachable: listener closed, connections dropped."""
        self._down = True
        self._loop.run(self._close_all())

    def up(self) -> None:
        """Bring the router back on the same port(s)."""
        self._down = False
        self._loop.run(self._sync_listeners())

    def connections(self) -> int:
        """API connections open now."""
        return self._loop.call(lambda: len(self._core.connections))

    @property
    def peak_connections(self) -> int:
        """API sessions open at once, at most, since the router started."""
        return self._core.peak_connections

    @property
    def peak_in_flight(self) -> int:
        """The most tagged commands one session had in flight at once (answered ones excluded)."""
        return self._core.peak_in_flight

    def rows(self, path: str) -> list[dict[str, str]]:
        """A snapshot of a menu as print shows it (live values included)."""
        table = self._engine.table(path)
        return self._loop.call(lambda: [dict(table.view(row_id)) for row_id in table.rows])

    def __enter__(self) -> SimRouter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listener_changed(self) -> None:
        if self._started:
            self._loop.run(
                self._sync_listeners()
            ) if not self._loop.in_loop() else asyncio.ensure_future(self._sync_listeners())

    async def _sync_listeners(self) -> None:
        wanted = self._started and not self._down and not self.faults.refuse_connections
        if wanted and not self._servers:
            await self._listen()
        elif not wanted and self._servers:
            self._close_listeners()

    async def _listen(self) -> None:
        plain = await asyncio.start_server(self._accept, self.host, self.port, limit=1 << 20)
        self._servers.append(plain)
        self.port = plain.sockets[0].getsockname()[1]
        if self.tls_port is not None:
            secure = await asyncio.start_server(
                self._accept, self.host, self.tls_port, ssl=self._tls_context, limit=1 << 20
            )
            self._servers.append(secure)
            self.tls_port = secure.sockets[0].getsockname()[1]

    def _close_listeners(self) -> None:
        for server in self._servers:
            server.close()
        self._servers.clear()

    async def _close_all(self) -> None:
        self._close_listeners()
        for connection in list(self._core.connections):
            connection.abort()
        await asyncio.sleep(0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await Connection(self._core, reader, writer).serve()
