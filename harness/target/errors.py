"""Errors of target-file handling."""

from __future__ import annotations

from pathlib import Path

from harness.errors import UsageError


class TargetFileError(UsageError):
    """A target file does not parse or breaks specs/target-file.md (TGT-1..6).

    The message names the file, the offending key and what was expected; fix
    that key (or remove it: unknown keys are errors so that a typo never turns
    a test off silently, TGT-2).
    """

    def __init__(self, source: Path | str, key: str, problem: str) -> None:
        super().__init__(
            f"{source}: {key}: {problem}",
            hint="see specs/target-file.md for every section and key a target file may have",
        )
        self.source = str(source)
        self.key = key
        self.problem = problem
