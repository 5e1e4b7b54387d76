"""One API connection: reads sentences, logs in, runs commands, writes replies.

An untagged command is answered before the next sentence is read, as a client that never tags
(librouteros) expects. A tagged command runs on its own, as on RouterOS: the connection goes on
reading while it waits (the latency fault applies to each command, not to the connection in turn),
and its reply goes out when it is ready, between the replies of other commands, each sentence
carrying its `.tag`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from scheduler.sim import traps
from scheduler.sim.behaviour import Behaviour
from scheduler.sim.codec import CodecError, Limits, SentenceDecoder, TooLarge
from scheduler.sim.engine import MenuEngine
from scheduler.sim.faults import Faults
from scheduler.sim.login import Account, Login, LoginFailed
from scheduler.sim.reply import Reply
from scheduler.sim.request import Request, parse_sentence
from scheduler.sim.table import RE, encode_attribute
from scheduler.sim.traps import Trap


@dataclass
class RouterCore:
    """What every connection of one router shares."""

    engine: MenuEngine
    behaviour: Behaviour
    account: Account
    faults: Faults
    connections: set[Connection] = field(default_factory=set)
    peak_connections: int = 0
    """API sessions open at once, at most, since the router started."""
    peak_in_flight: int = 0
    """The most tagged commands one session had in flight at once."""


class Connection:
    """Serves one client until it quits, the fault injector drops it, or the router goes down."""

    def __init__(
        self, core: RouterCore, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._core = core
        self._reader = reader
        self._writer = writer
        self._login = Login(core.account, core.behaviour)
        self._running: dict[str | None, asyncio.Task[None]] = {}
        self._following: set[str | None] = set()
        """Tags of the `listen` commands being followed (they end only when cancelled)."""
        self._sent = 0
        self._arming = 0
        self._before_login = 0
        self.closed = False

    async def serve(self) -> None:
        """Read and answer sentences until the connection ends."""
        behaviour = self._core.behaviour
        if len(self._core.connections) >= behaviour.max_sessions:
            self.abort()  # no room for another API session
            return
        self._core.connections.add(self)
        core = self._core
        core.peak_connections = max(core.peak_connections, len(core.connections))
        decoder = SentenceDecoder(self._limits())
        try:
            while not self.closed:
                try:
                    data = await asyncio.wait_for(self._reader.read(1 << 16), self._idle_limit())
                except TimeoutError:
                    if self._running:
                        continue  # a `listen` is being followed: the session is not idle
                    break
                if not data:
                    break
                for words in decoder.feed(data):
                    await self._on_sentence(words)
                    if self.closed:
                        break
                    decoder.limits = self._limits()
                    await asyncio.sleep(0)  # a client sending many sentences never starves others
        except TooLarge as refused:
            reply = Reply(None)
            reply.fatal(str(refused))
            self.closed = True
            await self.send(reply)
        except (CodecError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            await self._finish()

    def _limits(self) -> Limits:
        behaviour = self._core.behaviour
        if not self._login.logged_in:
            small = behaviour.max_bytes_before_login
            return Limits(min(small, behaviour.max_word_bytes), small, 16)
        return Limits(
            behaviour.max_word_bytes, behaviour.max_sentence_bytes, behaviour.max_sentence_words
        )

    def _idle_limit(self) -> float | None:
        behaviour = self._core.behaviour
        if self._login.logged_in:
            return behaviour.idle_timeout
        if behaviour.idle_timeout is None:
            return behaviour.login_timeout
        return min(behaviour.login_timeout, behaviour.idle_timeout)

    def abort(self) -> None:
        """Drop the TCP connection at once (router down, drop fault)."""
        self.closed = True
        with contextlib.suppress(Exception):
            self._writer.transport.abort()

    async def _finish(self) -> None:
        self._core.connections.discard(self)
        # A command the router has received is carried out though its client has gone (an add
        # in flight is made, as on RouterOS); only what never ends by itself is stopped.
        for tag, task in self._running.items():
            if tag in self._following:
                task.cancel()
        self.closed = True
        with contextlib.suppress(Exception):
            self._writer.close()

    async def _on_sentence(self, words: list[bytes]) -> None:
        if self._core.faults.half_open:
            return
        request = parse_sentence(words)
        self._core.engine.stats[request.command] += 1
        if self._core.faults.hang_after_login and self._login.logged_in:
            return  # a stuck API service: the login was answered, nothing after it is
        if self._runs_apart(request):
            assert request.tag is not None
            self._running[request.tag] = asyncio.ensure_future(self._apart(request))
            apart = len(self._running) - len(self._following)
            self._core.peak_in_flight = max(self._core.peak_in_flight, apart)
            return
        await self._wait(request)
        reply = Reply(request.tag)
        if self._core.faults.drop_after_sentences is None:
            # Long prints go out while still being encoded; the drop fault needs whole counts.
            reply.sink = self._writer.write
        await self._dispatch(request, reply)
        await self.send(reply)

    def _runs_apart(self, request: Request) -> bool:
        """A tagged command of a logged-in session that ends by itself runs on its own."""
        return (
            request.tag is not None
            and self._login.logged_in
            and request.command not in ("/login", "/cancel", "/quit")
            and request.verb != "listen"
            and request.tag not in self._running  # a tag in use is answered in turn
        )

    async def _wait(self, request: Request) -> None:
        """The latency fault, and a slow-command fault for this command."""
        faults = self._core.faults
        delay = faults.latency + faults.slowness(request.command)
        if delay:
            await asyncio.sleep(delay)

    async def _apart(self, request: Request) -> None:
        """Run one tagged command while the connection reads on; answer when it is done."""
        tag = request.tag
        try:
            await self._wait(request)
            reply = Reply(tag)
            self._run(request, reply)
        finally:
            # Answered (or cancelled): a /cancel from now on has nothing of it to interrupt.
            if tag is not None:
                self._running.pop(tag, None)
        if not self.closed:
            await self.send(reply)

    async def _dispatch(self, request: Request, reply: Reply) -> None:
        command = request.command
        if command == "/quit":
            reply.fatal(traps.SESSION_TERMINATED)
            self.closed = True
        elif command == "/login":
            self._on_login(request, reply)
        elif command == "/cancel":
            await self._cancel(request, reply)
        elif not self._login.logged_in:
            self._before_login_command(reply)
        elif request.verb == "listen":
            self._listen(request, reply)
        else:
            self._run(request, reply)

    def _run(self, request: Request, reply: Reply) -> None:
        try:
            rule = self._core.faults.take_trap(request.command)
            if rule is not None:
                raise Trap(rule.message, rule.category)
            self._core.engine.execute(request, reply)
        except Trap as trap:
            self._trap(reply, trap)

    def _trap(self, reply: Reply, trap: Trap) -> None:
        message, category = self._core.behaviour.trap_text(trap.message, trap.category)
        reply.trap(message, category)
        reply.done()

    def _on_login(self, request: Request, reply: Reply) -> None:
        try:
            ret = self._login.answer(request.attributes, self._core.faults.refuse_logins)
        except LoginFailed as failure:
            self._trap(reply, failure)
            if self._core.behaviour.close_after_failed_login:
                self.closed = True
            return
        reply.done(ret)

    def _before_login_command(self, reply: Reply) -> None:
        self._before_login += 1
        limit = self._core.behaviour.sentences_before_login
        if limit is not None and self._before_login > limit:
            reply.fatal("too many commands before login")
            self.closed = True
            return
        self._trap(reply, Trap(traps.NOT_LOGGED_IN))

    def _listen(self, request: Request, reply: Reply) -> None:
        table = self._core.engine.tables.get(request.path)
        if table is None or request.tag in self._running:
            self._trap(reply, Trap(traps.NO_SUCH_COMMAND))
            return
        queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()

        def changed(row_id: str, row: object, removed: bool) -> None:
            queue.put_nowait((row_id, removed))

        async def follow() -> None:
            table.listeners.append(changed)
            try:
                while True:
                    row_id, gone = await queue.get()
                    update = Reply(request.tag)
                    if gone:
                        update.row(
                            RE + encode_attribute(".id", row_id) + encode_attribute(".dead", "yes")
                        )
                    elif row_id in table.rows:
                        update.row(table.encoded(row_id))
                    await self.send(update)
            finally:
                table.listeners.remove(changed)
                self._following.discard(request.tag)

        self._following.add(request.tag)
        self._running[request.tag] = asyncio.ensure_future(follow())

    async def _cancel(self, request: Request, reply: Reply) -> None:
        wanted = request.attributes.get("tag")
        tags = [t for t in self._running if wanted is None or t == wanted]
        for tag in tags:
            task = self._running.pop(tag)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            interrupted = Reply(tag)
            interrupted.trap(traps.INTERRUPTED, traps.INTERRUPTED_CATEGORY)
            await self.send(interrupted)
        reply.done()
        # The cancelled command ends with its own !done after the cancel's (MT-API trace).
        for tag in tags:
            finished = Reply(tag)
            finished.done()
            reply.extend(finished)

    async def send(self, reply: Reply) -> None:
        """Write a reply, honouring the drop-after-sentences fault."""
        if self.closed and not reply.sentences:
            return
        allowed = self._drop_budget(reply.sentences)
        data = reply.data(allowed)
        if data:
            self._writer.write(data)
            with contextlib.suppress(ConnectionError):
                await self._writer.drain()
        if allowed is not None and allowed < reply.sentences:
            self.abort()
        elif self.closed:
            with contextlib.suppress(Exception):
                self._writer.close()

    def _drop_budget(self, count: int) -> int | None:
        faults = self._core.faults
        if faults.drop_after_sentences is None:
            return None
        if self._arming != faults.drop_arming:
            self._arming, self._sent = faults.drop_arming, 0
        allowed = max(0, faults.drop_after_sentences - self._sent)
        self._sent += min(count, allowed)
        return allowed
