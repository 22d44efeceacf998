#!/usr/bin/env python3
"""Appends, with pyHanko's incremental writer, a revision that replaces the content of page 1
of IN by a forged text, and writes the result to OUT. Usage: tamper.py IN OUT"""
import sys

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

with open(sys.argv[1], "rb") as f:
    writer = IncrementalPdfFileWriter(f, strict=False)
    page_ref, _ = writer.find_page_for_modification(0)
    forged = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 72 Td (Montant : 0 EUR) Tj ET")
    page = page_ref.get_object()
    page["/Contents"] = writer.add_object(forged)
    writer.mark_update(page_ref)
    with open(sys.argv[2], "wb") as out:
        writer.write(out)
