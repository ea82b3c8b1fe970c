"""Package discovery that pyproject.toml alone cannot express.

The suites live at top level in the repository (the layout users asked for) but
ship inside the wheel as ``harness.suites`` so that ``ullc-harness run`` finds
them on a machine that only installed the package.
"""

from setuptools import find_packages, setup

DATA_SUFFIXES = ("json", "toml", "md", "txt", "sdp", "hex", "pcap", "bin", "lua", "ini", "c")

harness_packages = find_packages(include=["harness", "harness.*"])
suite_packages = ["harness.suites"] + [
    f"harness.suites.{name}" for name in find_packages(where="suites")
]

# The normative spec ships too (harness.specs), so an installed harness can
# validate messages against the very schemas the spec publishes.
setup(
    packages=[*harness_packages, *suite_packages, "harness.specs"],
    package_dir={"harness.suites": "suites", "harness.specs": "specs"},
    # Recursive globs: data lives in sub-folders that are not packages
    # (stack/worlds, specs/schemas, bench/worlds).
    package_data={"": ["py.typed", *(f"**/*.{ext}" for ext in DATA_SUFFIXES)]},
)
