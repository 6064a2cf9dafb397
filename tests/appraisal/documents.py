"""Reading a letter back as its reader would: the text of the PDF (through the fonts' own ToUnicode maps, so the
Chinese comes out as characters) and the CSV's titled tables."""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib

_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_STREAM = re.compile(rb"<<(.*?)>>\s*stream\r?\n(.*?)endstream", re.S)
_TOKEN = re.compile(rb"\((?:\\.|[^\\)])*\)|/[^\s/\[\]()<>]+|\[|\]|[^\s/\[\]()<>]+", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """{object number: (dictionary text, decoded stream or None)}."""
    out = {}
    for number, body in _OBJECT.findall(pdf):
        stream = _STREAM.match(body.strip())
        if stream is None:
            out[int(number)] = (body, None)
            continue
        head, data = stream.groups()
        if b"/ASCII85Decode" in head:
            data = base64.a85decode(data.strip(), adobe=True)
        if b"/FlateDecode" in head:
            data = zlib.decompressobj().decompress(data)  # what follows the compressed data is not part of it
        out[int(number)] = (head, data)
    return out


def _cmap(data: bytes) -> dict[int, str]:
    codes = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            codes[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first = int(dst, 16)
            for n, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                codes[code] = chr(first + n)
    return codes


def _literal(token: bytes) -> bytes:
    raw, out, i = token[1:-1], bytearray(), 0
    while i < len(raw):
        ch = raw[i:i + 1]
        if ch != b"\\":
            out += ch
            i += 1
            continue
        nxt = raw[i + 1:i + 2]
        octal = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return bytes(out)


def pdf_text(pdf: bytes) -> str:
    """The text the letter shows, page by page, one line per text object or line break."""
    objects = _objects(pdf)
    fonts: dict[bytes, dict[int, str] | None] = {}
    for head, _data in objects.values():
        name = re.search(rb"/Name\s*(/[^\s/>]+)", head)
        if b"/Type /Font" not in head or name is None:
            continue
        unicode_ref = re.search(rb"/ToUnicode (\d+) 0 R", head)
        fonts[name.group(1)] = _cmap(objects[int(unicode_ref.group(1))][1]) if unicode_ref else None
    lines: list[str] = []
    for head, _data in objects.values():
        contents = re.search(rb"/Contents (\d+) 0 R", head)
        if b"/Type /Page" not in head or contents is None:
            continue
        font, line, operands = None, [], []
        for token in _TOKEN.findall(objects[int(contents.group(1))][1]):
            if token.startswith((b"(", b"/", b"[", b"]")) or re.fullmatch(rb"-?[\d.]+", token):
                operands.append(token)
                continue
            if token == b"Tf":
                font = fonts.get(operands[-2])
            elif token in (b"Tj", b"TJ", b"'"):
                for operand in operands:
                    if operand.startswith(b"("):
                        raw = _literal(operand)
                        line.append("".join(font.get(b, "") for b in raw) if font is not None
                                    else raw.decode("cp1252"))
            if token in (b"T*", b"ET", b"'", b"Td", b"TD") and line:
                lines.append("".join(line))
                line = []
            operands = []
    return "\n".join(lines)


def csv_sections(data: bytes) -> dict[str, list[dict[str, str]]]:
    """A letter's CSV as {title: rows as dicts by header}; the members' table, which opens the file, is "党员"."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    sections: dict[str, list[dict[str, str]]] = {}
    title, i = "党员", 0
    while i < len(rows):
        headers, i = rows[i], i + 1
        body = []
        while i < len(rows) and rows[i]:
            body.append(dict(zip(headers, rows[i], strict=False)))
            i += 1
        sections[title] = body
        if i + 1 < len(rows):
            title, i = rows[i + 1][0], i + 2
        else:
            break
    return sections
