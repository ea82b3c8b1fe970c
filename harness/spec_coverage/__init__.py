"""Requirement coverage: which suite tests cite each requirement of specs/, and why the rest
is not tested here (``specs/untested.toml``). ``ullc-harness coverage`` prints it."""
