"""Whole-number settings read from the environment (TFGL_CACHE_MAX_MB, TFGL_TEXTURE_POOL_MB,
TFGL_REPLAY_PLANS, TFGL_LINKED_PROGRAMS): unset or empty takes the default; anything else that is
not a whole number at least `minimum` warns, naming the variable, and takes the default too."""
from __future__ import annotations

import os
import warnings
from collections.abc import Mapping


def whole_number(name: str, default: int, minimum: int = 0, unit: str = "",
                 environ: Mapping[str, str] = os.environ) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    if text.isdigit() and int(text) >= minimum:
        return int(text)
    kind = "a positive whole number" if minimum == 1 else f"a whole number of at least {minimum}" if minimum \
        else "a whole number"
    warnings.warn(f"tfgl: {name} must be {kind}{f' of {unit}' if unit else ''}, not {text!r}; using {default}",
                  RuntimeWarning, stacklevel=3)
    return default
