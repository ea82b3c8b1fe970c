"""ullc-harness: conformance and chaos testing for ULLC voice-call set-up."""

__version__ = "0.1.0"
