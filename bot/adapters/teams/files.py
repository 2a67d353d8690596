"""Files in Teams (`export`): a file consent card, then an upload to the person's OneDrive.

Teams lets a bot hand a person a file in their personal chat only, and only with their
consent (Teams' "Send and receive files using a bot"; the app manifest's
`supportsFiles: true`):

1. The bot posts a **file consent card** (`application/vnd.microsoft.teams.card.file.
   consent`: the file's name, a description, its size, and a context echoed back). Ours
   carries only the export's token: the engine's outbox row is the record of what was
   offered, to whom and until when (`bot.flows.export_chat`).
2. The person accepts or declines; Teams sends a `fileConsent/invoke` with the action,
   that context and, on accept, `uploadInfo`: an `uploadUrl` (a OneDrive upload session
   in their own drive) and where the file will be (`contentUrl`, `uniqueId`, `fileType`).
3. The invoke gets its 200 at once. On accept the bot then builds the file, PUTs its
   bytes to `uploadUrl` in ranges (`Content-Range: bytes a-b/size`; OneDrive takes pieces
   that are multiples of 320 KiB and answers 202 until the last, then 200/201 with the
   item), and posts a **file info card** (`application/vnd.microsoft.teams.card.file.
   info`) that opens it. On decline it says nothing was saved.

The consent card goes through the outbox like every message, and so do the "declined" or
"failed" sentences. The file info card is posted directly, once the upload is done: it
carries OneDrive's own ids, nothing the engine knows, and if it cannot be posted the file
is in the person's OneDrive all the same. Only the person the file was offered to can
accept it (the token is looked up with their address), and only until the export's
`expires_at`.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import aiohttp

from bot.flows.export_chat import BuiltFile, consent_text
from bot.flows.outbound import FileReply

logger = logging.getLogger(__name__)

CONSENT_CARD = "application/vnd.microsoft.teams.card.file.consent"
INFO_CARD = "application/vnd.microsoft.teams.card.file.info"
FILE_CONSENT_INVOKE = "fileConsent/invoke"
#: Each PUT of an upload session: 10 x 320 KiB (OneDrive wants multiples of 320 KiB, at
#: most 60 MiB a request), so a big export uploads in pieces of about 3 MiB.
UPLOAD_PIECE_BYTES = 10 * 320 * 1024
UPLOAD_TIMEOUT_SECONDS = 120.0


class UploadFailed(Exception):
    """OneDrive did not take the file (the message says how it answered)."""


def consent_attachment(reply: FileReply, size: int) -> dict[str, Any]:
    """The file consent card for an export of `size` bytes."""
    context = {"token": reply.token}
    return {
        "contentType": CONSENT_CARD,
        "name": reply.filename,
        "content": {
            "description": consent_text(reply),
            "sizeInBytes": size,
            "acceptContext": context,
            "declineContext": context,
        },
    }


def info_attachment(upload_info: Any) -> dict[str, Any]:
    """The file info card for an uploaded file (`uploadInfo` of the accept invoke)."""
    return {
        "contentType": INFO_CARD,
        "contentUrl": upload_info.content_url,
        "name": upload_info.name,
        "content": {"uniqueId": upload_info.unique_id, "fileType": upload_info.file_type},
    }


async def upload(url: str, built: BuiltFile) -> None:
    """PUT a built file to a OneDrive upload session, a piece at a time.

    Raises:
        UploadFailed: OneDrive answered something other than 202 for a piece, or other
            than 200/201 for the last; or the connection failed.
    """
    timeout = aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT_SECONDS)
    start = 0
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for piece in built.chunks(UPLOAD_PIECE_BYTES):
                end = start + len(piece) - 1
                headers = {
                    "Content-Length": str(len(piece)),
                    "Content-Range": f"bytes {start}-{end}/{built.size}",
                }
                # A file object, not bytes: aiohttp sends it without blocking the loop.
                body = io.BytesIO(piece)
                async with session.put(url, data=body, headers=headers) as response:
                    last = end + 1 == built.size
                    wanted = (200, 201) if last else (202,)
                    if response.status not in wanted:
                        raise UploadFailed(f"HTTP {response.status} for bytes {start}-{end}")
                start = end + 1
    except aiohttp.ClientError as exc:
        raise UploadFailed(type(exc).__name__) from exc
    if start != built.size:  # an empty file: nothing was sent
        raise UploadFailed("nothing to upload")
