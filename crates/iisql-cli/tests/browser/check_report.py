#!/usr/bin/env python3
"""Checks what Chromium made of the HTML report (report.sh): the screenshot is the window's
size, not blank, and shows the charts' colours; the DOM has the report's headings and
charts; the PDF has pages. Standard library only."""

import re
import struct
import sys
import zlib
from pathlib import Path


def read_png(path):
    """Width, height and rows of RGB(A) pixels of an 8-bit, non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0, f"{path}: depth {depth}, interlace {interlace}"
            channels = {2: 3, 6: 4}[color]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        f, line = raw[i], bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def main(out):
    out = Path(out)
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    width, height, channels, rows = read_png(out / "report.png")
    check((width, height) == (1280, 2400), f"screenshot is 1280x2400 (got {width}x{height})")
    counts = {}
    for row in rows:
        for x in range(0, len(row), channels):
            px = row[x : x + 3]
            counts[px] = counts.get(px, 0) + 1
    total = width * height
    background = max(counts.values())
    check(len(counts) > 200, f"many colours, not a blank page ({len(counts)} distinct)")
    check(background < total * 0.9, f"the most common colour covers {background / total:.0%}")
    green = counts.get(bytes([0x59, 0xA1, 0x4F]), 0)
    check(green > 5000, f"the success columns of the traffic chart are drawn ({green} px)")
    blue = counts.get(bytes([0x4E, 0x79, 0xA7]), 0)
    check(blue > 5000, f"the device-type bars are drawn ({blue} px)")

    dom = (out / "dom.html").read_text(encoding="utf-8")
    for heading in [
        "<h1>iisql diagnosis</h1>",
        '<h2 id="summary">Summary</h2>',
        "<h3>Requests per hour by outcome</h3>",
        "<h3>Failing devices by device type</h3>",
        "<h3>Failures by server</h3>",
        '<h2 id="findings">Findings</h2>',
        '<h2 id="clean">Checks without findings</h2>',
    ]:
        check(heading in dom, f"DOM has {heading}")
    sections = dom.count('<section class="finding"')
    svgs = len(re.findall(r"<svg\b", dom))
    check(sections >= 10, f"a section per finding ({sections})")
    check(svgs == sections + 3, f"three traffic charts and a timeline per finding ({svgs} svg)")
    check("Devices without a client certificate (403.7)" in dom, "the 403.7 finding is there")

    pdf = (out / "report.pdf").read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    check(pdf[:5] == b"%PDF-" and pages >= 3, f"prints to a PDF of {pages} pages")

    if failures:
        print(f"{len(failures)} check(s) failed; files in {out}", file=sys.stderr)
        sys.exit(1)
    print(f"report checks passed; files in {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
