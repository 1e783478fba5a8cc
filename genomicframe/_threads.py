"""Shared worker pools, one per purpose and size, created on first use.

Pools are kept for the life of the process (their threads are idle when unused).
Each purpose gets its own pool so that a task never waits on work queued behind
it in the same pool (VCF parse tasks wait on inflate tasks, for instance).
"""
from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

__all__ = ["ordered", "pool"]

_pools: dict[tuple[str, int], ThreadPoolExecutor] = {}
_lock = threading.Lock()


def pool(threads: int, purpose: str = "inflate") -> ThreadPoolExecutor:
    """The process-wide pool of ``threads`` workers for ``purpose``."""
    key = (purpose, threads)
    with _lock:
        p = _pools.get(key)
        if p is None:
            p = _pools[key] = ThreadPoolExecutor(threads, thread_name_prefix=f"gf-{purpose}")
        return p


def ordered(func, items, threads: int, purpose: str, depth: int):
    """``(item, func(item))`` for each item, in input order.

    With more than one thread ``func`` runs on the ``purpose`` pool (it should
    release the GIL for its work) with at most ``depth`` items in flight, so
    memory is bounded however long ``items`` is; else it runs inline.  Items
    not yet started are cancelled when the consumer stops early.
    """
    if threads <= 1:
        for it in items:
            yield it, func(it)
        return
    workers = pool(threads, purpose)
    pending: deque = deque()
    try:
        for it in items:
            pending.append((it, workers.submit(func, it)))
            if len(pending) >= depth:
                it0, fut = pending.popleft()
                yield it0, fut.result()
        while pending:
            it0, fut = pending.popleft()
            yield it0, fut.result()
    finally:
        for _, fut in pending:
            fut.cancel()
