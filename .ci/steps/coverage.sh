#!/usr/bin/env bash
# Issue 10: publish the requirement coverage table (fails when a MUST or SHOULD of specs/
# is neither cited by a suite test nor explained in specs/untested.toml). About 10 s.
set -euo pipefail
mkdir -p reports
ullc-harness coverage --markdown reports/requirement-coverage.md > /dev/null
grep -m1 "^\*\*MUST" reports/requirement-coverage.md
