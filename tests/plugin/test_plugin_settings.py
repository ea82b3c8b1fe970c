"""The plugin's settings, markers and switches, through pytester (no stack is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHOW_SETTINGS = """
def test_show(ullc_settings):
    print("SETTINGS", ullc_settings.calls, ullc_settings.budget_ms, ullc_settings.seed)
"""

MINIMAL_TARGET = """
[target]
name = "plain-ullc"

[endpoints]
gateway = "ws://127.0.0.1:9/v1/signaling"
edges = ["127.0.0.1:3478"]
"""


def test_command_line_wins_over_ini_which_wins_over_default(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nullc_calls = 7\nullc_budget_ms = 900\n")
    pytester.makepyfile(SHOW_SETTINGS)

    from_ini = pytester.runpytest("-s")
    from_command_line = pytester.runpytest("-s", "--ullc-calls", "3", "--ullc-seed", "11")

    from_ini.assert_outcomes(passed=1)
    from_ini.stdout.fnmatch_lines(["*SETTINGS 7 900 None"])
    from_command_line.assert_outcomes(passed=1)
    from_command_line.stdout.fnmatch_lines(["*SETTINGS 3 900 11"])


def test_defaults_without_any_setting(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHOW_SETTINGS)
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*SETTINGS 20 None None"])


def test_header_names_target_and_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    assert True\n")
    result = pytester.runpytest("--ullc-seed", "1234")
    result.stdout.fnmatch_lines(
        ["ullc: embedded reference stack*seed 1234 (replay with --ullc-seed 1234)*"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ullc-calls", "zero"], "*--ullc-calls: expected a whole number >= 1, got 'zero'*"),
        (["--ullc-calls", "0"], "*expected a whole number >= 1, got '0'*"),
        (["--ullc-budget-ms", "-5"], "*--ullc-budget-ms: expected a whole number >= 1*"),
        (["--ullc-seed", "x"], "*--ullc-seed: expected a whole number >= 0*"),
        (["--ullc-backend", "k8s"], "*unknown backend 'k8s'*"),
        (["--ullc-target", "missing.toml"], "*file 'missing.toml' does not exist*"),
        (["--ullc-topology", "nope.json"], "*file 'nope.json' does not exist*"),
    ],
)
def test_bad_values_are_usage_errors_with_a_hint(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makepyfile("def test_nothing():\n    assert True\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    result.stderr.fnmatch_lines(["*Hint: *"])


def test_bad_ini_value_names_the_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nullc_calls = many\n")
    pytester.makepyfile("def test_nothing():\n    assert True\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini option ullc_calls*expected a whole number*'many'*"])


def test_broken_target_file_fails_the_run_at_start(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", broken="[target]\nname = 'x'\n[endpoints]\ngatway = 'ws://a:1/'\n")
    pytester.makepyfile("def test_nothing():\n    assert True\n")
    result = pytester.runpytest("--ullc-target", "broken.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*broken.toml*endpoints.gat*"])


def test_ini_target_path_is_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    (pytester.path / "targets").mkdir()
    (pytester.path / "targets" / "plain.toml").write_text(MINIMAL_TARGET)
    pytester.makeini("[pytest]\nullc_target = targets/plain.toml\n")
    pytester.makepyfile(
        "def test_show(ullc_settings, ullc_outline):\n"
        "    print('TARGET', ullc_settings.target_file.name, ullc_outline.name)\n"
    )
    sub = pytester.path / "sub"
    sub.mkdir()
    result = pytester.runpytest("-s", str(pytester.path))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*TARGET plain.toml plain-ullc"])


def test_missing_capability_skips_with_a_reason_naming_it(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", plain=MINIMAL_TARGET)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires_capability("latency_map_control")
        def test_needs_maps(ullc_target):
            raise AssertionError("must not run")

        @pytest.mark.requires_capability("sequential", "outage_control")
        def test_needs_two():
            raise AssertionError("must not run")

        @pytest.mark.requires_capability("ullc")
        def test_has_it():
            assert True

        @pytest.mark.requires_capability("stun_only")
        def test_for_plain_stun_servers():
            raise AssertionError("must not run")
        """
    )
    result = pytester.runpytest("--ullc-target", "plain.toml", "-rs")
    result.assert_outcomes(passed=1, skipped=3)
    # The reason names the real cause and what to declare; a full implementation is
    # never told it "lacks" stun_only.
    result.stdout.fnmatch_lines(
        [
            "*target 'plain-ullc' lacks capability latency_map_control (TGT-4): declare "
            "latency_map_control = true*CTL-3*",
            "*target 'plain-ullc' lacks capabilities sequential, outage_control (TGT-4): add "
            '"sequential"*POST /control/outage*',
            "*applies to a plain STUN server target only (TGT-5*",
        ]
    )
    assert "lacks capability stun_only" not in result.stdout.str()


def test_unknown_capability_or_requirement_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires_capability("teleport")
        def test_capability():
            pass

        @pytest.mark.requirements("NOPE-1")
        def test_requirement():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*'teleport'*is not a capability*", "*cites NOPE-1*"])


def test_requirements_and_suite_land_in_the_evidence(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from harness.plugin import EVIDENCE_KEY

        pytestmark = pytest.mark.requirements("ROUTE-7")

        @pytest.mark.fallback
        @pytest.mark.requirements("FB-1", "FB-5")
        def test_cites(request, ullc_evidence, ullc_seed):
            assert request.node.stash[EVIDENCE_KEY] is ullc_evidence
            print("EVIDENCE", ullc_evidence.requirements, ullc_evidence.suite, ullc_seed > 0)
        """
    )
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*EVIDENCE ('FB-1', 'FB-5', 'ROUTE-7') fallback True"])


def test_per_test_seeds_follow_the_session_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_a(ullc_seed):
            print("SEED-A", ullc_seed)

        def test_b(ullc_seed):
            print("SEED-B", ullc_seed)
        """
    )

    def seeds(*args: str) -> list[str]:
        out = pytester.runpytest("-s", *args).stdout.lines
        return [line[line.index("SEED-") :] for line in out if "SEED-" in line]

    first, again, other = (
        seeds("--ullc-seed", "5"),
        seeds("--ullc-seed", "5"),
        seeds("--ullc-seed", "6"),
    )
    assert first == again
    assert first != other
    assert first[0].split()[1] != first[1].split()[1]


def test_disabled_plugin_adds_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_plain():
            assert True

        def test_wants_fixture(ullc_target):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:ullc")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'ullc_target' not found*"])
    result.stdout.no_fnmatch_line("ullc: *")
    help_text = pytester.runpytest("-p", "no:ullc", "--help")
    help_text.stdout.no_fnmatch_line("*--ullc-target*")


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_a_run_that_never_asks_for_the_target_starts_nothing(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    monkeypatch.setenv("ULLC_HARNESS_RUN_ROOT", str(runs))
    pytester.makepyfile(
        """
        def test_settings_only(ullc_settings, ullc_outline, ullc_evidence):
            assert ullc_outline.dcs
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert not runs.exists() or not any(runs.iterdir())
