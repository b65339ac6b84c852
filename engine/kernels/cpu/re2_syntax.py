"""RE2 patterns and rewrites (TensorFlow's StaticRegexReplace) run with Python's `re`.

The two dialects share most syntax but not all of its meaning, so a pattern is translated rather
than passed through: Perl classes and word boundaries are ASCII-only in RE2 (Unicode in Python),
`$` without (?m) matches only at the very end of the text (Python's also before a final newline),
and `\\z`, `\\Q...\\E`, `\\x{...}`, `(?<name>...)`, `[[:alpha:]]`, octal escapes and mid-pattern flags are spelled
differently or not at all in Python. What RE2 refuses (backreferences, lookaround, atomic groups,
possessive quantifiers) or what cannot be mapped (`\\p{...}` Unicode classes, `\\C`, the (?U)
flag) is refused with a ValueError naming the construct, never run with another meaning.

Text is matched as UTF-8 code points, as RE2 does: `.` consumes a whole character, and neither `.`
nor a negated class matches a byte that is not UTF-8.
"""
from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable

log = logging.getLogger(__name__)

# Bytes that are not UTF-8 arrive as surrogate escapes; RE2 matches no class or `.` against them.
_INVALID = r"\udc80-\udcff"
_WORD = "0-9A-Za-z_"
_SPACE = r"\t\n\f\r "
# Perl classes, as their content inside [...] and as a class of their own.
_PERL = {"d": "0-9", "w": _WORD, "s": _SPACE}
_NEGATED_PERL = {"D": "d", "W": "w", "S": "s"}
_BOUNDARY = f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))"
_NOT_BOUNDARY = f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))"
_POSIX = {"alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": r"\x00-\x7f", "blank": r"\t ",
          "cntrl": r"\x00-\x1f\x7f", "digit": "0-9", "graph": r"!-~", "lower": "a-z", "print": r" -~",
          "punct": r"!-/:-@\[-`{-~", "space": r"\t\n\v\f\r ", "upper": "A-Z", "word": _WORD,
          "xdigit": "0-9A-Fa-f"}
_SIMPLE_ESCAPES = {"a": r"\a", "f": r"\f", "n": r"\n", "r": r"\r", "t": r"\t", "v": r"\v"}
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_GROUP_NAME = re.compile(r"(?:P<|<)(\w+)>")
MAX_REPEAT = 1000  # RE2's limit on a counted repetition


class _Reader:
    def __init__(self, pattern: str):
        self.text, self.at = pattern, 0

    def more(self) -> bool:
        return self.at < len(self.text)

    def peek(self, n: int = 1) -> str:
        return self.text[self.at:self.at + n]

    def take(self, n: int = 1) -> str:
        taken = self.text[self.at:self.at + n]
        self.at += n
        return taken


def _literal(char: str) -> str:
    return char if char.isalnum() or char == "_" else "\\" + char if char.isascii() else char


def _escape(reader: _Reader, in_class: bool) -> str:
    """The Python spelling of the escape after a backslash (already read)."""
    if not reader.more():
        raise ValueError("trailing \\ at the end of the pattern")
    char = reader.take()
    if char in _PERL:
        return _PERL[char] if in_class else f"[{_PERL[char]}]"
    if char in _NEGATED_PERL:
        if in_class:
            raise ValueError(f"\\{char} inside a character class is not supported")
        return f"[^{_PERL[_NEGATED_PERL[char]]}{_INVALID}]"
    if char in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[char]
    if char == "x":
        return _hex_escape(reader)
    if char in "01234567":
        return _octal_escape(reader, char)
    if not in_class:
        if char == "b":
            return _BOUNDARY
        if char == "B":
            return _NOT_BOUNDARY
        if char == "A":
            return r"(?:\A)"  # grouped, so a quantifier may follow as in RE2
        if char == "z":
            return r"(?:\Z)"
        if char == "Q":
            end = reader.text.find(r"\E", reader.at)
            quoted = reader.text[reader.at:] if end < 0 else reader.text[reader.at:end]
            reader.at = len(reader.text) if end < 0 else end + 2
            return "".join(_literal(c) for c in quoted)
    if char in "pP":
        raise ValueError(f"Unicode classes (\\{char}) are not supported")
    if char == "C":
        raise ValueError("\\C (any byte) is not supported")
    if not char.isascii() or char.isalnum():
        raise ValueError(f"invalid escape sequence \\{char}")
    return _literal(char)


def _hex_escape(reader: _Reader) -> str:
    if reader.peek() == "{":
        end = reader.text.find("}", reader.at)
        digits = reader.text[reader.at + 1:end] if end > 0 else ""
        reader.at = end + 1 if end > 0 else len(reader.text)
    else:
        digits = reader.take(2)
    if not digits or len(digits) > 8 or any(c not in "0123456789abcdefABCDEF" for c in digits) \
            or int(digits, 16) > 0x10FFFF:
        raise ValueError(f"invalid escape sequence \\x{digits}")
    return f"\\U{int(digits, 16):08x}"


def _octal_escape(reader: _Reader, first: str) -> str:
    """\\0, \\12, \\123: RE2's octal codes; a lone \\1 to \\7 would be a backreference, which RE2 lacks."""
    digits = first
    while len(digits) < 3 and reader.peek() in tuple("01234567") and reader.more():
        digits += reader.take()
    if first != "0" and len(digits) == 1:
        raise ValueError(f"backreferences (\\{first}) are not supported")
    return f"\\U{int(digits, 8):08x}"


def _char_class(reader: _Reader) -> str:
    """A [...] class (the [ already read), with its items spelled for Python."""
    out = ["["]
    negated = reader.peek() == "^"
    if negated:
        out.append(reader.take())
    first = True
    while True:
        if not reader.more():
            raise ValueError("missing ] at the end of a character class")
        char = reader.take()
        if char == "]" and not first:
            break
        first = False
        end = reader.text.find(":]", reader.at + 1) if char == "[" and reader.peek() == ":" else -1
        if end >= 0:  # RE2 reads [: up to the next :] as a class name; with no :] the [ is a literal
            name = reader.text[reader.at + 1:end]
            if name not in _POSIX:
                raise ValueError(f"character class [:{name}:] is not supported")
            out.append(_POSIX[name])
            reader.at = end + 2
        elif char == "\\":
            out.append(_escape(reader, in_class=True))
        elif char == "-":
            out.append("-" if len(out) > 1 and reader.peek() not in ("]", "") else r"\-")
        else:
            out.append(_literal(char))
    out.append(_INVALID + "]" if negated else "]")
    return "".join(out)


def _group(reader: _Reader) -> tuple[str, str]:
    """The opening of a group (the ( already read) as Python spells it, and the RE2 flags it sets
    ('' for none): a group ending in ')' sets them for the rest of the enclosing group."""
    if reader.peek() != "?":
        return "(", ""
    reader.take()
    name = _GROUP_NAME.match(reader.text, reader.at)
    if name:  # rewrites number groups, so the name can go (RE2 allows a name twice, re not)
        reader.at = name.end()
        return "(", ""
    if reader.peek() in ("=", "!", "<", ">"):
        raise ValueError("lookaround and atomic groups are not supported")
    flags = ""
    while reader.more() and reader.peek() not in (")", ":"):
        flags += reader.take()
    if any(f not in "imsU-" for f in flags) or not flags and reader.peek() != ":" or not reader.more():
        raise ValueError(f"invalid group flags (?{flags}")
    if "U" in flags:
        raise ValueError("the (?U) flag (ungreedy by default) is not supported")
    # (?m) is applied by the translation of ^ and $, so Python never sees it.
    on, _, off = flags.partition("-")
    on, off = on.replace("m", ""), off.replace("m", "")
    return f"(?{on}{'-' + off if off else ''}{reader.take()}", flags


def _multiline(flags: str, current: bool) -> bool:
    on, _, off = flags.partition("-")
    return False if "m" in off else True if "m" in on else current


def translate(pattern: str) -> str:
    """An RE2 pattern as a Python pattern with the same matches; ValueError for what cannot be."""
    reader, out = _Reader(pattern), []
    # Per open group: the flag groups set inside it (RE2's (?i) holds to the end of its group, across
    # alternatives; Python's only at the start, so each becomes a scoped (?i:...) closed there) and
    # whether (?m) holds.
    scopes: list[list[str]] = [[]]
    multiline = [False]
    while reader.more():
        char = reader.take()
        if char == "\\":
            out.append(_escape(reader, in_class=False))
        elif char == "[":
            out.append(_char_class(reader))
        elif char == "(":
            opening, flags = _group(reader)
            if opening.endswith(")"):  # flags for the rest of the group
                if reader.peek() in ("*", "+", "?", "{"):
                    raise ValueError(f"a repetition of the flag group (?{flags}) is not supported")
                scopes[-1].append(opening[:-1] + ":")
                out.append(opening[:-1] + ":")
                multiline[-1] = _multiline(flags, multiline[-1])
                continue
            scopes.append([])
            multiline.append(_multiline(flags, multiline[-1]))
            out.append(opening)
        elif char in ")|":
            closing = scopes.pop() if char == ")" and len(scopes) > 1 else scopes[-1]
            if char == ")" and len(multiline) > 1:
                multiline.pop()
            out.append(")" * len(closing) + char + ("".join(closing) if char == "|" else ""))
        elif char == "$":
            out.append(r"(?:(?=\n)|\Z)" if multiline[-1] else r"(?:\Z)")
        elif char == "^":
            out.append(r"(?:(?<=\n)|\A)" if multiline[-1] else r"(?:\A)")
        elif char == ".":
            out.append(f"(?:(?![{_INVALID}]).)")
        elif char == "{":
            repeat = _REPEAT.match(reader.text, reader.at - 1)
            if repeat is None:
                out.append(r"\{")  # RE2 reads a brace that starts no count as a literal
                continue
            if any(int(n) > MAX_REPEAT for n in repeat.groups()[::2] if n):
                raise ValueError(f"bad repetition operator {repeat.group()}: counts above {MAX_REPEAT}")
            out.append(repeat.group())
            reader.at = repeat.end()
        else:
            out.append(char)
        if (char in "*+?" or char == "{" and out[-1] != r"\{") and reader.peek() == "+":
            raise ValueError(f"bad repetition operator: {out[-1]}+ (possessive quantifiers)")
    return "".join(out) + ")" * sum(len(closing) for closing in scopes)


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern:
    """The translated pattern, compiled once per pattern (a graph's node runs on every call)."""
    try:
        return re.compile(translate(pattern))
    except re.error as error:
        raise ValueError(f"invalid pattern {pattern!r}: {error}") from None


@functools.lru_cache(maxsize=256)
def rewriter(rewrite: str, groups: int) -> Callable[[re.Match], str] | None:
    """RE2's rewrite string as a function of a match: \\0 to \\9 insert groups, \\\\ a backslash.
    As RE2 (so TensorFlow) does, a rewrite naming a group the pattern lacks replaces nothing (None),
    and one with another escape is cut short there; both are logged (once), as RE2 logs them."""
    parts: list[str | int] = []
    reader = _Reader(rewrite)
    while reader.more():
        char = reader.take()
        if char != "\\":
            parts.append(char)
            continue
        nxt = reader.take()
        if nxt == "\\":
            parts.append("\\")
        elif nxt.isdigit() and nxt.isascii():
            parts.append(int(nxt))
        else:
            log.warning("invalid rewrite pattern %r: it stops at \\%s", rewrite, nxt)
            break
    if any(isinstance(p, int) and p > groups for p in parts):
        log.warning("rewrite %r names a group the pattern (of %d groups) lacks: nothing is replaced", rewrite, groups)
        return None
    return lambda match: "".join(p if isinstance(p, str) else match.group(p) or "" for p in parts)


def replace(pattern: re.Pattern, rewrite: Callable[[re.Match], str], text: str, everywhere: bool) -> str:
    """RE2's Replace (the first match) or GlobalReplace, whose rule for empty matches differs from
    re.sub's: an empty match right where the previous match ended is skipped."""
    out, position, last_end = [], 0, -1
    while position <= len(text):
        match = pattern.search(text, position)
        if match is None:
            break
        start, end = match.span()
        out.append(text[position:start])
        if start == end == last_end:
            if start < len(text):
                out.append(text[start])
            position = start + 1
            continue
        out.append(rewrite(match))
        position = last_end = end
        if not everywhere:
            break
        if start == end:  # an empty match: copy one character and look again after it
            if end < len(text):
                out.append(text[end])
            position = end + 1
    out.append(text[position:])
    return "".join(out)
