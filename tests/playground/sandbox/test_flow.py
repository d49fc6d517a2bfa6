import asyncio

from playground.sandbox.flow import Outbox, TokenBucket


def row(socket_id, state):
    return {"type": "socket", "socket": {"id": socket_id, "state": state}}


async def test_it_keeps_only_the_newest_row_of_each_socket_while_waiting():
    outbox = Outbox(limit=10)
    outbox.paused = True  # the client is not reading
    for state in ("SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2"):
        outbox.put(row("s1", state))
    outbox.put(row("s2", "LISTEN"))
    assert len(outbox) == 2 and outbox.coalesced == 3
    outbox.resume()
    assert await outbox.get() == row("s1", "FIN_WAIT2")
    assert await outbox.get() == row("s2", "LISTEN")


async def test_it_drops_a_waiting_row_when_its_socket_is_gone():
    outbox = Outbox(limit=10)
    outbox.put(row("s1", "TIME_WAIT"))
    outbox.put({"type": "socket.gone", "socket": "s1", "reason": "x"})
    assert len(outbox) == 1
    assert (await outbox.get())["type"] == "socket.gone"


async def test_it_waits_while_paused_then_gives_up_past_its_bound_and_holds_nothing():
    overflowed = []
    outbox = Outbox(limit=3, on_overflow=lambda: overflowed.append(True))
    outbox.paused = True
    getter = asyncio.ensure_future(outbox.get())
    for n in range(3):
        outbox.put({"type": "data", "socket": "s1", "data": str(n)})
    await asyncio.sleep(0)
    assert not getter.done() and not overflowed
    outbox.put({"type": "data", "socket": "s1", "data": "3"})
    assert overflowed == [True] and outbox.overflowed
    # Decided: the waiting reader learns it, and nothing is queued any more.
    assert await getter is None
    for n in range(1000):
        outbox.put({"type": "data", "socket": "s1", "data": str(n)})
    assert overflowed == [True] and len(outbox) == 0


def test_it_allows_a_burst_then_the_steady_rate():
    now = [0.0]
    bucket = TokenBucket(rate=20, burst=40, clock=lambda: now[0])
    assert sum(bucket.take() for _ in range(50)) == 40
    now[0] += 0.5  # half a second buys 10 more
    assert sum(bucket.take() for _ in range(50)) == 10
