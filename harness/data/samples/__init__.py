"""Sample inputs for `ullc-harness lint-stun` and `lint-sdp`; see README.md here."""
