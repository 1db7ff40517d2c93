"""One pooled session per process, a fresh one after fork."""

import multiprocessing
import os

from kaizala import KaizalaClient, shared_session
from kaizala import transport as transport_module

from .scripted_server import Reply


def test_the_session_is_shared_and_connections_are_reused(scripted):
    assert shared_session() is shared_session()
    scripted.reply(Reply(200, {"members": []}), Reply(200, {"members": []}))
    first = KaizalaClient(scripted.url, "t1")
    second = KaizalaClient(scripted.url, "t2")
    assert first.list_members("g") == []
    assert second.list_members("g") == []
    # Both calls, from two clients, went over one kept-alive connection.
    assert scripted.seen[0].client_port == scripted.seen[1].client_port


def _child(inherited_id: int, out) -> None:
    inherited = transport_module._session
    session = shared_session()
    out.put((inherited is None, id(session) != inherited_id, transport_module._session_pid == os.getpid()))


def test_a_forked_child_gets_its_own_session():
    parent_session = shared_session()
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_child, args=(id(parent_session), out))
    child.start()
    result = out.get(timeout=10)
    child.join(timeout=5)
    assert result == (True, True, True)
    assert shared_session() is parent_session
