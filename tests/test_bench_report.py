"""benchmarks/report.py: the README table is rendered from recorded results and rewritten in place."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

import report

SIM = {"name": "sim_bench", "script": "sim_bench", "command": "python benchmarks/sim_bench.py --json",
       "commit": "0123456789abcdef", "dirty": False, "date": "2026-12-03T14:00:00Z", "load_avg_1m": 1.5,
       "result": {"env": "HalfCheetah-v5", "envs": 32, "batch_sim_steps_per_s": 20930.2,
                  "sync_vector_steps_per_s": 9456.6, "ratio_vs_sync_vector": 2.21}}


def test_table_renders_records_and_names_what_is_missing():
    text = report.table([SIM])
    assert "20.9k vs 9.5k steps/s (SyncVectorEnv), 2.2x" in text and "0123456, 2026-12-03, load 1.5" in text
    assert "`benchmarks/ppo_bench.py`" in text and "not recorded" in text  # a missing result says so


def test_rewrite_puts_the_table_between_markers_and_keeps_the_rest(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n## Benchmarks\n\nIntro.\n\n| Command | old |\n|---|---|\n| a | 1 |\n\nAfter.\n")
    report.rewrite(readme, report.table([SIM]))
    first = readme.read_text()
    assert "| a | 1 |" not in first and first.count(report.START) == 1
    assert first.startswith("# x\n\n## Benchmarks\n\nIntro.\n\n") and first.endswith("\n\nAfter.\n")
    report.rewrite(readme, report.table([SIM]))
    assert readme.read_text() == first  # idempotent: `make bench-report` twice changes nothing
