#!/usr/bin/env python3
"""Checks a headless-Chromium screenshot of the lanes report is not blank: decodes the PNG (zlib + struct, no
third-party modules) and requires, in each half of the page (loss curves on the left, card timeline on the right),
enough strongly colored pixels and distinct colors. Usage: screenshot_check.py PNG; exit 0 when it passes."""
import struct
import sys
import zlib


def decode_png(path):
    """Returns (width, height, channels, rows) with rows a list of bytearrays of width*channels bytes."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG (signature {data[:8]!r})")
    pos, idat, header = 8, bytearray(), None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color_type, _, _, interlace = header
    channels = {2: 3, 6: 4}.get(color_type)
    if depth != 8 or channels is None or interlace != 0:
        raise ValueError(f"{path}: depth {depth}, color type {color_type}, interlace {interlace}; expected 8-bit "
                         "RGB or RGBA, not interlaced")
    raw = zlib.decompress(bytes(idat))
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(line)
        previous = line
    return width, height, channels, rows


def half_stats(rows, channels, x_begin, x_end):
    """(strongly colored pixels, distinct colors among them) in columns [x_begin, x_end)."""
    colored, colors = 0, set()
    for line in rows:
        for x in range(x_begin, x_end):
            r, g, b = line[x * channels], line[x * channels + 1], line[x * channels + 2]
            if max(r, g, b) - min(r, g, b) >= 60:
                colored += 1
                colors.add((r >> 3, g >> 3, b >> 3))
    return colored, len(colors)


def main():
    width, height, channels, rows = decode_png(sys.argv[1])
    ok = True
    for name, begin, end, min_colored in (("left half (loss curves)", 0, width // 2, 2000),
                                          ("right half (card timeline)", width // 2, width, 20000)):
        colored, distinct = half_stats(rows, channels, begin, end)
        print(f"{name}: {colored} colored pixels, {distinct} distinct colors")
        if colored < min_colored or distinct < 8:
            print(f"FAIL: {name}: expected >= {min_colored} colored pixels and >= 8 distinct colors")
            ok = False
    print(f"{sys.argv[1]}: {width}x{height}, {channels} channels: {'looks drawn' if ok else 'looks blank'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
