#!/usr/bin/env python3
"""idle_tls.py SHARED - SHARED/idle.py over implicit TLS (IMAPS): the same
sessions (LOGIN, SELECT, IDLE) and the same memory figures, with every
connection wrapped in TLS (certificate not checked: a bench instance's
self-signed one).  Env as for idle.py; PORT is the IMAPS port."""
import asyncio, functools, runpy, ssl, sys

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
asyncio.open_connection = functools.partial(asyncio.open_connection, ssl=ctx)
sys.argv = [sys.argv[1] + "/idle.py"]
runpy.run_path(sys.argv[0], run_name="__main__")
