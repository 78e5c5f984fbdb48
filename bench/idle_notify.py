#!/usr/bin/env python3
"""idle_notify.py SHARED - SHARED/idle.py with NOTIFY (RFC 5465): the same
sessions and memory figures, but each one, after LOGIN and SELECT, asks to
follow every folder of the account before it idles:

    NOTIFY SET (selected (MessageNew MessageExpunge FlagChange))
               (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))

(what a client that drops its per-folder IDLE connections sends).  A NOTIFY
refused makes that session count as an error.  Env as for idle.py."""
import asyncio
import runpy
import sys

NOTIFY = (b"n NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) "
          b"(personal (MessageNew MessageExpunge MailboxName SubscriptionChange))\r\n")

_write = asyncio.StreamWriter.write
_readline = asyncio.StreamReader.readline


def write(self, data):
    if data == b"c IDLE\r\n":	# idle.py's IDLE: NOTIFY first, pipelined
        data = NOTIFY + data
    return _write(self, data)


async def readline(self):
    line = await _readline(self)
    if line.startswith((b"n NO", b"n BAD")):
        raise RuntimeError("NOTIFY refused: %r" % line)
    return line


asyncio.StreamWriter.write = write
asyncio.StreamReader.readline = readline
sys.argv = [sys.argv[1] + "/idle.py"]
runpy.run_path(sys.argv[0], run_name="__main__")
