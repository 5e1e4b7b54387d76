"""The print command over a table: queries, .proplist, count-only and !empty."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from scheduler.sim import traps
from scheduler.sim.behaviour import Behaviour
from scheduler.sim.query import Query, QueryError
from scheduler.sim.reply import Reply
from scheduler.sim.request import Request
from scheduler.sim.table import RE, Table, encode_attribute
from scheduler.sim.traps import Trap

PRINT_ARGUMENTS = frozenset(
    {".proplist", "count-only", "detail", "without-paging", "terse", "brief", "where", "value-list"}
)


def print_rows(table: Table, request: Request, behaviour: Behaviour, reply: Reply) -> None:
    """Answer a print (or getall) into reply."""
    args = request.attributes
    unknown = set(args) - PRINT_ARGUMENTS - table.menu.extra_print_args
    if unknown:
        raise Trap(traps.UNKNOWN_PARAMETER)
    ids = _matching_ids(table, request.queries, behaviour)
    if "count-only" in args:
        count = sum(1 for _ in ids)
        if count == 0 and behaviour.empty_reply and behaviour.empty_on_zero_count:
            reply.empty()
        reply.done(str(count))
        return
    sent = reply.sentences
    proplist = args.get(".proplist")
    if table.menu.single:
        _print_single(table, proplist, behaviour, reply)
    elif proplist is None:
        for row_id in ids:
            reply.row(table.encoded(row_id))
    else:
        _print_props(table, ids, [p for p in proplist.split(",") if p], reply)
    if reply.sentences == sent and behaviour.empty_reply:
        reply.empty()
    reply.done()


def _matching_ids(table: Table, words: list[str], behaviour: Behaviour) -> Iterable[str]:
    if not words:
        return table.rows.keys()
    try:
        query = Query(table.menu, words, behaviour.numeric_compare, behaviour.strict_query_stack)
    except QueryError:
        raise Trap(traps.UNKNOWN_PARAMETER) from None
    if query.key_lookup is not None:
        found = table.find(query.key_lookup)
        candidates: Iterable[str] = () if found is None else (found,)
    else:
        candidates = table.rows.keys()
    return _filter(table, query, candidates)


def _filter(table: Table, query: Query, candidates: Iterable[str]) -> Iterator[str]:
    if table.live is None:
        rows = table.rows
        return (row_id for row_id in candidates if query.matches(rows[row_id]))
    return (row_id for row_id in candidates if query.matches(table.view(row_id)))


def _print_props(table: Table, ids: Iterable[str], props: list[str], reply: Reply) -> None:
    rows = table.rows if table.live is None else None
    for row_id in ids:
        row = rows[row_id] if rows is not None else table.view(row_id)
        # A row with none of the properties still answers, as a bare !re.
        reply.row(RE + b"".join([encode_attribute(p, row[p]) for p in props if p in row]))


def _print_single(table: Table, proplist: str | None, behaviour: Behaviour, reply: Reply) -> None:
    for row_id in table.rows:
        row = dict(table.view(row_id))
        if behaviour.single_row_id:
            row = {".id": row_id} | row
        props = proplist.split(",") if proplist is not None else list(row)
        reply.row(RE + b"".join([encode_attribute(p, row[p]) for p in props if p in row]))
