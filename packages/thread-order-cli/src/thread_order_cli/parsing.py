"""1.4.0's free-form arguments: ``--key=value`` state injection and ``--result-<fn>=value`` mocks.

Typer hands over every token it does not know. Each must be ``--key=value``; anything else is an
error, with a suggestion when it looks like a misspelt real option (``--skip_deps``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exitcodes import UsageError

_KEY = re.compile(r"^--([A-Za-z_][\w.:-]*)=(.*)$", re.DOTALL)
RESULT_PREFIX = "result-"


@dataclass
class Injections:
    """What the extra tokens asked for: state values and mocked results (all strings)."""

    state: dict[str, str] = field(default_factory=dict)
    results: dict[str, str] = field(default_factory=dict)


def _suggest(token: str, options: Iterable[str]) -> str:
    name = token.split("=", 1)[0]
    candidates = list(options)
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.7)
    if not close:
        close = difflib.get_close_matches(name.replace("_", "-"), candidates, n=1, cutoff=0.7)
    return f" (did you mean {close[0]}?)" if close else ""


def parse_extras(tokens: Sequence[str], known_options: Iterable[str]) -> Injections:
    """Split extra tokens into state injections and result mocks; reject everything else."""
    known = sorted(known_options)
    out = Injections()
    for token in tokens:
        m = _KEY.match(token)
        if m is None:
            if token.startswith("-"):
                raise UsageError(
                    f"no such option: {token}{_suggest(token, known)}; "
                    "state values are given as --key=value"
                )
            raise UsageError(f"unexpected argument: {token!r}")
        key, value = m.group(1), m.group(2)
        if key.startswith("_"):
            raise UsageError(f"{token}: state keys cannot start with an underscore (_)")
        option = f"--{key}"
        if option in known:
            raise UsageError(f"{token}: {option} is an option, not a state key")
        if "_" in key and option.replace("_", "-") in known:
            raise UsageError(f"no such option: {token}{_suggest(option, known)}")
        if key.startswith(RESULT_PREFIX) and len(key) > len(RESULT_PREFIX):
            out.results[key[len(RESULT_PREFIX) :]] = value
        else:
            out.state[key] = value
    return out


def load_state_file(path: str) -> dict[str, Any]:
    """Read a JSON object of initial state values; errors name the file and the place."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"state file '{path}' not found")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"state file '{path}' cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"state file '{path}' is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"state file '{path}' must hold a JSON object, not {type(data).__name__}")
    bad = sorted(k for k in data if k.startswith("_"))
    if bad:
        raise UsageError(
            f"state file '{path}': keys cannot start with an underscore (_): {', '.join(bad)}"
        )
    return data
