"""Shared worker pools, one per purpose and size, created on first use.

Pools are kept for the life of the process (their threads are idle when unused).
Each purpose gets its own pool so that a task never waits on work queued behind
it in the same pool (VCF parse tasks wait on inflate tasks, for instance).
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["pool"]

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
