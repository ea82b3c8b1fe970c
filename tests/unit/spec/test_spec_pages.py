"""specs/implementers.md is generated from the requirement index and kept current."""

from __future__ import annotations

import re
from pathlib import Path

from harness.spec_index import Level, by_id, requirements
from harness.spec_pages import (
    CLIENT_STEPS,
    NEITHER_ROLE,
    SERVER_STEPS,
    Step,
    coverage_problems,
    default_page_path,
    implementers_page,
    main,
)


def test_committed_page_is_the_generated_one() -> None:
    committed = default_page_path().read_text("utf-8")
    assert committed == implementers_page(), (
        "specs/implementers.md is stale: run `python -m harness.spec_pages` and commit it"
    )


def test_check_flag_fails_on_a_stale_page(tmp_path: Path) -> None:
    page = tmp_path / "implementers.md"
    assert main(["--output", str(page)]) == 0
    assert main(["--check", "--output", str(page)]) == 0
    page.write_text(page.read_text("utf-8").replace("**SIG-8**", "**SIG-8** edited"), "utf-8")
    assert main(["--check", "--output", str(page)]) == 1


def test_every_must_and_should_is_on_the_page_once_per_role_with_its_id() -> None:
    page = implementers_page()
    server, _, rest = page.partition("## Client")
    client, _, _ = rest.partition("## Not for implementers")
    for requirement in requirements():
        if requirement.level < Level.SHOULD or requirement.withdrawn:
            assert f"**{requirement.id}**" not in server + client, requirement.id
            continue
        in_server = server.count(f"- [ ] **{requirement.id}**")
        in_client = client.count(f"- [ ] **{requirement.id}**")
        assert in_server <= 1
        assert in_client <= 1
        assert in_server + in_client >= 1 or requirement.id in NEITHER_ROLE, requirement.id
        if requirement.level is Level.SHOULD and in_server + in_client:
            assert f"**{requirement.id}** *(SHOULD)*" in page


def test_lines_come_from_the_index_in_build_order() -> None:
    page = implementers_page()
    index = by_id()
    # The page's words are the index's: SIG-17's line starts with its rendered text.
    assert f"**SIG-17** {index['SIG-17'].text[:60]}" in page
    # Quantity markers are rendered, never shown raw.
    assert "{ufrag_random_bits" not in page
    server = page.partition("## Client")[0]
    order = re.findall(r"\*\*((?:SIG|STUN|ROUTE)-\d+)\*\*", server)
    assert order.index("SIG-1") < order.index("ROUTE-1") < order.index("STUN-40")


def test_a_new_must_in_no_step_is_reported_by_id() -> None:
    index = by_id()
    shorter = tuple(
        Step(step.title, tuple(i for i in step.ids if i != "STUN-43")) for step in SERVER_STEPS
    )
    problems = coverage_problems((("server", shorter), ("client", CLIENT_STEPS)), index)
    assert len(problems) == 1
    assert problems[0].startswith("STUN-43 (stun.md:")
    typo = "-".join(("SIG", "99"))  # spelt apart so tests/test_spec_ids.py does not see a citation
    unknown = (Step("typo", (typo,)),)
    assert coverage_problems((("server", unknown),), index)[0] == (
        f"server step 'typo' names {typo}, not in specs/"
    )
