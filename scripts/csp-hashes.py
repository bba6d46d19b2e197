#!/usr/bin/env python3
"""Print the CSP source expressions ('sha256-…') for the inline scripts of HTML files.

Trunk injects an inline <script type="module"> that loads the hashed JS glue and
the .wasm; a CSP without 'unsafe-inline' must list its hash. The hash changes
with every build, so it is computed from the built dist/index.html:

  scripts/csp-hashes.py dist/index.html              -> 'sha256-…' 'sha256-…'
  scripts/csp-hashes.py --json dist/index.html live.html  -> ["'sha256-…'", …]

Several files may be given (e.g. the new build and the one currently live, so
that a CSP covering both can be rolled out before the upload). Missing files are
an error unless --allow-missing is given. Standard library only.
"""

import argparse
import base64
import hashlib
import json
import os
import sys
from html.parser import HTMLParser


class InlineScripts(HTMLParser):
    """Collects the exact text of every <script> element without a src attribute."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.scripts = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._current = []

    def handle_data(self, data):
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._current is not None:
            text = "".join(self._current)
            if text.strip():
                self.scripts.append(text)
            self._current = None


def hashes_for(html):
    parser = InlineScripts()
    parser.feed(html)
    parser.close()
    return [
        "'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii")
        for s in parser.scripts
    ]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="HTML files (e.g. dist/index.html)")
    ap.add_argument("--json", action="store_true", help="print a JSON list instead of a space-separated line")
    ap.add_argument("--allow-missing", action="store_true", help="ignore files that do not exist")
    args = ap.parse_args(argv)

    found = []
    for path in args.files:
        if not os.path.exists(path):
            if args.allow_missing:
                continue
            print("csp-hashes: no such file: %s" % path, file=sys.stderr)
            return 2
        with open(path, encoding="utf-8") as fh:
            for h in hashes_for(fh.read()):
                if h not in found:
                    found.append(h)

    print(json.dumps(found) if args.json else " ".join(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
