#!/usr/bin/env python3
"""offline_corpus.py SHARED MAILDIR PER_FOLDER TO OWNER - the account of the
full offline sync (offline_sync.py): INBOX and 99 Maildir++ folders
(.F01 .. .F99) of PER_FOLDER messages each.  Ten folders are written by
SHARED/mailgen.py with their own seeds; the other 90 are hard links of
them, so 240,000 messages cost 24,000 files of disk and a minute to make."""
import os
import shutil
import sys
import time


def main():
    shared, md, n, to, owner = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    sys.path.insert(0, shared)
    import mailgen
    t0 = time.time()
    shutil.rmtree(md, ignore_errors=True)
    dirs = [md] + [os.path.join(md, ".F%02d" % i) for i in range(1, 100)]
    written = 0
    for i, d in enumerate(dirs):
        if i < 10:
            written += mailgen.populate_maildir(d, n, 100 + i, to)
            continue
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        src = os.path.join(dirs[i % 10], "new")
        for name in os.listdir(src):
            os.link(os.path.join(src, name), os.path.join(d, "new", name))
    mailgen.chown_tree(md, owner)
    print("corpus: %d messages in %d folders (%.1f MB written) in %s (%.1f s)"
          % (len(dirs) * n, len(dirs), written / 1e6, md, time.time() - t0))


if __name__ == "__main__":
    main()
