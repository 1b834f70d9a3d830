"""Argument types and checks shared by the command line's parsers (``ganga-monitoring``, its ``demo``
and ``simgrid``).

Contract: each ``type=`` function takes the text of one value and returns it converted, or raises
:class:`argparse.ArgumentTypeError` whose message says what the option accepts and what it got, so
argparse prints its usual two lines (the usage, then ``<prog>: error: argument --x: <message>``) and
exits with code 2; no bad value reaches the code behind the parser, so none ends in a traceback.
Numbers are finite (``nan`` and ``inf`` are refused). :func:`check_ranges` and :func:`check_rates`
are the checks of several values at once, called after ``parse_args``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence


def _number(text: str, expected: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _whole(text: str, expected: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def fraction(text: str) -> float:
    """A fraction: a number from 0 to 1."""
    expected = "a fraction from 0 to 1"
    value = _number(text, expected)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A duration in seconds, 0 or more."""
    expected = "a number of seconds >= 0"
    value = _number(text, expected)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_seconds(text: str) -> float:
    """A duration in seconds, more than 0."""
    expected = "a number of seconds > 0"
    value = _number(text, expected)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def count(minimum: int) -> Callable[[str], int]:
    """A whole number of at least ``minimum``."""
    expected = f"a whole number >= {minimum}"

    def convert(text: str) -> int:
        value = _whole(text, expected)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return convert


def port(text: str) -> int:
    """A TCP port number, 0 to 65535."""
    expected = "a port number from 0 to 65535"
    value = _whole(text, expected)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def check_ranges(parser: argparse.ArgumentParser, args: argparse.Namespace, *options: str) -> None:
    """Each ``MIN MAX`` option (``"--run-time"``) has MIN <= MAX, else ``parser.error`` naming it."""
    for option in options:
        low, high = getattr(args, option.lstrip("-").replace("-", "_"))
        if low > high:
            parser.error(f"argument {option}: MIN ({low:g}) is above MAX ({high:g}); give MIN <= MAX")


def check_rates(parser: argparse.ArgumentParser, args: argparse.Namespace, options: Sequence[str]) -> None:
    """The fractions of requests of ``options`` (one draw picks at most one of them) add up to at most 1."""
    values = [getattr(args, option.lstrip("-").replace("-", "_")) for option in options]
    if sum(values) > 1 + 1e-9:
        parser.error(f"arguments {', '.join(options)}: each request suffers at most one of these faults, so "
                     f"their fractions add up to at most 1 (they add up to {sum(values):g})")
