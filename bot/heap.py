"""Keep the garbage collector's full passes short in the serving process.

CPython's oldest-generation collection walks every tracked object, holding the GIL: in
a process holding a large playbook (tens of thousands of members), the ORM's mappers and
every imported module, each full pass stalls the event loop for a tenth of a second and
more, growing with the heap; clicks waiting for their ack wait that long too (measured
with `python -m bench.loop_lag`). What exists once the server has started lives as long
as the process, so `gc.freeze` moves it out of the collector's reach: later passes walk
only what came after. The serving process does this once, after start-up (`bot.cli`);
tests and tools that build many apps in one process do not, so their garbage is still
collected.
"""

from __future__ import annotations

import gc
import logging

from aiohttp import web

log = logging.getLogger(__name__)


async def freeze_startup_heap(app: web.Application) -> None:
    """An `on_startup` hook, last: collect once, then exempt what is left from later passes."""
    gc.collect()
    gc.freeze()
    log.info(
        "start-up heap frozen: %d objects left out of garbage collection", gc.get_freeze_count()
    )
