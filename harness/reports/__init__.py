"""Reports: what a suite test observed, as Allure steps, plots, timelines and pcaps.

One concept per module; only :mod:`~harness.reports.allure_reporter` knows pytest.

- :mod:`~harness.reports.plots`: latency histogram + CDF (PNG, matplotlib Agg);
- :mod:`~harness.reports.timeline`: one call as SVG lanes, faults shaded;
- :mod:`~harness.reports.pcap`: the sample call's packets from hop captures (pcapng);
- :mod:`~harness.reports.redact`: the one function every written byte goes through;
- :mod:`~harness.reports.summary`: the per-suite table at the end of a run;
- :mod:`~harness.reports.verify_html`: checks a generated Allure HTML report in Chromium.

Nothing heavy is imported here: the plugin imports this package on every run.
"""
