"""统一社会信用代码 (GB 32100-2015): 18 characters, the last a check digit over the first 17."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 symbols: no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_char(body17: str) -> str:
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(body17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    if len(code) != 18 or any(ch not in ALPHABET for ch in code):
        return False
    return check_char(code[:17]) == code[17]


def make(body17: str) -> str:
    """Complete a 17-character body with its check digit (demo data and tests)."""
    return body17 + check_char(body17)
