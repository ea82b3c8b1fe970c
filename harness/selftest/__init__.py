"""``ullc-harness selftest``: how strong the harness is, shown on the reference stack with
planted bugs (:class:`harness.stack.defects.Defect`), each of which some suite test must
catch."""
