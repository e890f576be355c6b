from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=20000)
def _initial(char: str) -> str:
    letters = lazy_pinyin(char, style=Style.FIRST_LETTER, errors="ignore")
    return letters[0].lower() if letters else ""


def name_initials(name: str) -> str:
    """Pinyin initials of a Chinese name, e.g. 张三丰 → ``zsf`` (for search)."""
    return "".join(_initial(ch) for ch in name if not ch.isspace())[:50]
