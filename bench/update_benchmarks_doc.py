#!/usr/bin/env python3
"""Replaces one bench's section of docs/benchmarks.md with a freshly written one.

Usage: update_benchmarks_doc.py DOC NAME SECTION_FILE

The section lives between `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->`; a section
seen for the first time is appended. Every bench script writes its results through this one
script, so the document keeps one shape.
"""
import pathlib
import re
import sys


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    doc, name, section_file = pathlib.Path(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
    section = section_file.read_text().rstrip() + "\n"
    text = doc.read_text() if doc.exists() else (
        "# Benchmarks\n\nEach section is written by its bench script; rerun the script to refresh it.\n")
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    block = f"{begin}\n{section}{end}"
    if (begin in text) != (end in text):
        print(f"{doc}: only one of {begin} / {end} is there; fix the document", file=sys.stderr)
        return 1
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text)
    print(f"wrote the '{name}' section of {doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
