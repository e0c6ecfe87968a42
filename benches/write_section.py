"""Writes a benchmark script's results into its own part of a Markdown page.

Usage: write_section.py PAGE RESULTS BEGIN END CORE

The part between the marker lines BEGIN and END is replaced by the text of RESULTS;
a page without them gets the part right above the line CORE (where benches/compare.sh
writes its own results), or at its end. A missing page is created with a title.
"""
import os
import sys

doc, out, begin, end, core = sys.argv[1:]
page = open(doc).read() if os.path.exists(doc) else "# Performance\n"
block = f"{begin}\n\n{open(out).read().strip()}\n\n{end}\n"
if begin in page and end in page:
    head, rest = page.split(begin, 1)
    page = head + block + rest.split(end, 1)[1].lstrip("\n")
elif core in page:
    head, rest = page.split(core, 1)
    page = head + block + "\n" + core + rest
else:
    page = page.rstrip("\n") + "\n\n" + block
open(doc, "w").write(page)
