"""The serving process leaves its start-up heap out of the garbage collector's full passes."""

from __future__ import annotations

import gc

from aiohttp import web

from bot.heap import freeze_startup_heap


async def test_start_up_freezes_what_exists_and_later_garbage_is_still_collected() -> None:
    gc.unfreeze()
    try:
        await freeze_startup_heap(web.Application())
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # every module, the app: not walked by later passes

        class Cycle:
            other: object

        a, b = Cycle(), Cycle()
        a.other, b.other = b, a  # garbage only a collection finds
        del a, b
        assert gc.collect() >= 2  # what came after the freeze is collected as before
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()  # the rest of the suite's objects stay collectable
