"""Relaxed JSON, as the real (.NET/Newtonsoft) backend evidently accepted it.

Clients in the wild send strict JSON, JavaScript-style objects with unquoted keys
(`{name:"x"}`) and Python's `str(dict)` (single quotes, True/False/None). Property
names are matched case-insensitively (`Message` == `message`) through `CIDict`.
"""

import json
import re


class LenientJSONError(ValueError):
    pass


class CIDict(dict):
    """A dict whose lookups ignore the case of string keys; the original keys are kept."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._folded = {k.lower(): k for k in self if isinstance(k, str)}

    def _key(self, key):
        if isinstance(key, str):
            return self._folded.get(key.lower(), key)
        return key

    def __getitem__(self, key):
        return super().__getitem__(self._key(key))

    def __contains__(self, key):
        return super().__contains__(self._key(key))

    def get(self, key, default=None):
        return super().get(self._key(key), default)


def _fold(value):
    if isinstance(value, dict):
        return CIDict({k: _fold(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_fold(v) for v in value]
    return value


def loads(text: str):
    """Parse strict or relaxed JSON into plain values whose dicts are CIDicts."""
    try:
        return _fold(json.loads(text))
    except ValueError:
        pass
    parser = _Parser(text)
    value = parser.value()
    parser.skip_ws()
    if parser.pos != len(text):
        raise LenientJSONError(f"unexpected data at offset {parser.pos}")
    return _fold(value)


_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_LITERALS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", "\\": "\\", "'": "'", '"': '"'}


class _Parser:
    """Recursive descent over JSON plus: unquoted keys, single quotes, Python literals, trailing commas."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def skip_ws(self):
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self) -> str:
        self.skip_ws()
        if self.pos >= len(self.text):
            raise LenientJSONError("unexpected end of input")
        return self.text[self.pos]

    def value(self):
        ch = self.peek()
        if ch == "{":
            return self.obj()
        if ch == "[":
            return self.array()
        if ch in "'\"":
            return self.string()
        number = _NUMBER.match(self.text, self.pos)
        if number:
            self.pos = number.end()
            raw = number.group()
            return float(raw) if any(c in raw for c in ".eE") else int(raw)
        ident = _IDENT.match(self.text, self.pos)
        if ident and ident.group() in _LITERALS:
            self.pos = ident.end()
            return _LITERALS[ident.group()]
        raise LenientJSONError(f"unexpected character {ch!r} at offset {self.pos}")

    def string(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            if ch == quote:
                return "".join(out)
            if ch == "\\":
                if self.pos >= len(self.text):
                    break
                esc = self.text[self.pos]
                self.pos += 1
                if esc == "u":
                    out.append(chr(int(self.text[self.pos : self.pos + 4], 16)))
                    self.pos += 4
                else:
                    out.append(_ESCAPES.get(esc, esc))
            else:
                out.append(ch)
        raise LenientJSONError("unterminated string")

    def key(self) -> str:
        if self.peek() in "'\"":
            return self.string()
        ident = _IDENT.match(self.text, self.pos)
        if not ident:
            raise LenientJSONError(f"expected a property name at offset {self.pos}")
        self.pos = ident.end()
        return ident.group()

    def obj(self) -> dict:
        self.pos += 1
        result = {}
        while self.peek() != "}":
            key = self.key()
            if self.peek() != ":":
                raise LenientJSONError(f"expected ':' at offset {self.pos}")
            self.pos += 1
            result[key] = self.value()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "}":
                raise LenientJSONError(f"expected ',' or '}}' at offset {self.pos}")
        self.pos += 1
        return result

    def array(self) -> list:
        self.pos += 1
        result = []
        while self.peek() != "]":
            result.append(self.value())
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "]":
                raise LenientJSONError(f"expected ',' or ']' at offset {self.pos}")
        self.pos += 1
        return result
