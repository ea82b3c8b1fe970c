"""One module per ``ullc-harness`` subcommand (see :mod:`harness.cli`)."""
