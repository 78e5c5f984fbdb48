#!/usr/bin/env python3
"""Start MariaDB and PostgreSQL for bench/sql.sh (tests/e2e/dbservers.py, in
temporary directories on loopback), each with a `mail` database holding the
classic guide's tables, users.password widened so `letterbox user add` can
store yescrypt hashes.  Prints one line per server,

    mysql mysql://mail_admin:PASS@127.0.0.1:PORT/mail
    pgsql postgresql://mail_admin:PASS@127.0.0.1:PORT/mail

then "ready", and keeps them running until stdin reaches EOF (or SIGTERM),
then stops them and removes their directories.  A server whose binaries are
missing is left out (with a line on stderr)."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import dbservers  # noqa: E402

USER, PASS, DB = "mail_admin", "bench_password", "mail"
WIDEN = {
    "mysql": "ALTER TABLE users MODIFY password varchar(255) NOT NULL",
    "pgsql": "ALTER TABLE users ALTER COLUMN password TYPE varchar(255)",
}


def setup(srv):
    srv.create_db(DB)
    srv.create_user(USER, PASS, DB)
    for stmt in srv.schema + [WIDEN[srv.kind]]:
        srv.sql(stmt, db=DB)
    if srv.kind == "pgsql":
        srv.sql("GRANT ALL ON ALL TABLES IN SCHEMA public TO %s" % USER, db=DB)


def main():
    servers = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for have, cls in ((dbservers.have_mariadb, dbservers.MariaDB),
                          (dbservers.have_postgresql, dbservers.PostgreSQL)):
            if not have():
                print("sqlservers: %s is not installed, skipped" % cls.__name__, file=sys.stderr)
                continue
            srv = cls()
            servers.append(srv)
            setup(srv)
            print(srv.kind, srv.url(USER, PASS, DB), flush=True)
        print("ready", flush=True)
        sys.stdin.read()
    finally:
        for srv in servers:
            srv.cleanup()


if __name__ == "__main__":
    main()
