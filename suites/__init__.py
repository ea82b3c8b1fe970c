"""ULLC conformance suites (shipped as harness.suites)."""
