"""The README's examples run as written, so they cannot rot (pytest-asyncio's habit)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), flags=re.DOTALL)


def test_readme_has_a_test_example() -> None:
    assert any("def test_" in block for block in _python_blocks())


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
@pytest.mark.parametrize("block", [b for b in _python_blocks() if "def test_" in b])
def test_readme_test_example_passes_against_the_reference_stack(
    pytester: pytest.Pytester, block: str
) -> None:
    pytester.makepyfile(test_readme_example=block)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=block.count("def test_"))
