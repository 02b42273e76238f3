"""One exception hierarchy; ``cli.py`` alone turns these into messages and exit codes."""

from __future__ import annotations


class DepvetError(Exception):
    """Base of every error depvet raises on purpose; ``str()`` is a user-ready line."""


class UsageError(DepvetError):
    """The command line asks for something impossible."""


class InputError(DepvetError):
    """A target cannot be found or is not something depvet knows how to scan."""


class ArtifactError(DepvetError):
    """An artifact cannot be read safely: corrupt, a bomb, over a limit."""


class LimitExceeded(ArtifactError):
    """A size, ratio, count or depth limit was crossed while reading an artifact."""


class BudgetExhausted(LimitExceeded):
    """The whole artifact's byte or member budget is spent: always fatal for that artifact."""


class DecodeBudgetExceeded(DepvetError):
    """Static decoding stopped because its output budget was spent."""
