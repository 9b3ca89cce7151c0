"""The README's Results are rendered from a committed folder of a run's small results, never typed: a run
exports into that folder, the renderer makes the tables from it, and the README must hold exactly them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from conftest import REPO, files_under

from grokscape.errors import GrokscapeError
from grokscape.output.export_run import export_run
from grokscape.output.report_tables import (
    INSTABILITY,
    README_RUNS,
    RESULTS_BEGIN,
    RESULTS_END,
    blocks,
    main,
    marked_block,
    markers,
    readme_block,
    render,
    render_instability,
)

RUN = {"commit": "abc1234", "machine": "a test machine", "command": "snakemake --cores 2", "wall_time_s": 83.4}


def assert_readme_shows(readme: Path, folder: Path) -> None:
    """The README's results block is exactly what `folder` renders to."""
    assert marked_block(readme.read_text(), str(readme)) == render(folder), (
        f"{readme}'s results differ from the rendering of {folder}: "
        f"python -m grokscape.output.report_tables {folder} --readme {readme}"
    )


def test_the_repository_readme_shows_what_docs_results_renders_to():
    results, readme = REPO / "docs/results", REPO / "README.md"
    if any((results / name / "run.json").exists() for name in README_RUNS):
        for name, block in blocks(results).items():  # the results and, once committed, the instability analysis
            assert marked_block(readme.read_text(), str(readme), name) == block, (
                f"README.md's {name} differ from the committed runs': python -m grokscape.output.report_tables "
                "docs/results --readme README.md"
            )
    else:  # no committed run yet: then no block may pretend to be one
        assert RESULTS_BEGIN not in readme.read_text()


def test_the_instability_page_shows_what_its_committed_run_renders_to():
    folder, page = REPO / "docs/results" / INSTABILITY, REPO / "docs/instability.md"
    if (folder / "run.json").exists():
        assert marked_block(page.read_text(), str(page), INSTABILITY) == render_instability(folder), (
            f"{page}'s results differ: python -m grokscape.output.report_tables {folder} --readme {page}"
        )
    else:
        assert markers(INSTABILITY)[0] not in page.read_text()


@pytest.fixture(scope="module")
def small_results(built_workflow: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run exported as a README's results folder would be."""
    folder = tmp_path_factory.mktemp("small") / "results"
    export_run(built_workflow / "results", folder, RUN)
    return folder


def test_a_run_exports_only_its_small_files(small_results, built_workflow):
    assert files_under(small_results) == [
        "claims.json",
        "claims.md",
        "configuration.csv",
        "run.json",
        "seed0/history.csv",
        "seed0/points.json",
        "seed1/history.csv",
        "seed1/points.json",
        "summary.csv",
    ]
    assert sum(p.stat().st_size for p in small_results.rglob("*") if p.is_file()) < 2_000_000  # no checkpoints
    history = pd.read_csv(small_results / "seed1/history.csv")
    with h5py.File(built_workflow / "results/seed1/history.h5") as f:
        assert set(history.columns) == set(f)
        np.testing.assert_allclose(history["val_acc"], f["val_acc"][()], rtol=1e-7)
    assert json.loads((small_results / "run.json").read_text()) == RUN
    with pytest.raises(GrokscapeError, match="exists and is not empty; pass --replace"):
        export_run(built_workflow / "results", small_results, RUN)


def test_the_tables_show_the_run_s_numbers(small_results):
    text = render(small_results)
    points = json.loads((small_results / "seed1/points.json").read_text())
    claims = {c["claim"]: c for c in json.loads((small_results / "claims.json").read_text())}
    assert "Measured at commit `abc1234` on a test machine: `snakemake --cores 2`, 1 min 23 s of wall time" in text
    assert f"| generalisation (point 2), epoch | 2402 | {_epoch(small_results, 0)} | {points['grokked']} |" in text
    for name, claim in claims.items():
        assert f"| {name} | {claim['statement']}" in text and f"**{claim['verdict']}**" in text
    summary = pd.read_csv(small_results / "summary.csv")
    fitted = summary[summary["kind"].isin(["polyline", "bezier"])]
    assert f"Fitted curves that connect: {int(fitted['connects'].sum())} of {len(fitted)}" in text
    assert "| quantity | paper | seed0 – seed1 |" in text  # the pair's table


def test_the_readme_block_is_the_four_seed_run_then_the_default_run_beside_its_rerun(small_results, tmp_path):
    """docs/results/ as the README reads it: the four-seed run's tables, then the default command's run beside
    the same command under other CPU kernels (the command, where each ran, wall time, points, verdicts)."""
    results = tmp_path / "results"
    for name in ("four_seeds", "default_run", "default_run_avx2"):
        shutil.copytree(small_results, results / name)
    rerun = results / "default_run_avx2"
    points = json.loads((rerun / "seed1/points.json").read_text())
    (rerun / "seed1/points.json").write_text(json.dumps({**points, "grokked": points["grokked"] + 7}))
    (rerun / "run.json").write_text(json.dumps({**RUN, "machine": "the other kernels", "wall_time_s": 125.0}))
    block = readme_block(results)
    assert block.startswith(render(results / "four_seeds"))
    assert "|  | default_run | default_run_avx2 |" in block
    assert "| machine (kernels) | a test machine | the other kernels |" in block
    assert "| wall time | 1 min 23 s | 2 min 5 s |" in block
    assert f"| seed 1: points 1 / 2 | {points['memorized']} / {points['grokked']} | " in block
    assert f"{points['memorized']} / {points['grokked'] + 7} |" in block
    shutil.rmtree(results / "four_seeds")  # before there is a four-seed run: the default run's tables
    assert readme_block(results).startswith(render(results / "default_run"))
    shutil.rmtree(rerun)
    assert "default_run_avx2" not in readme_block(results)  # no rerun: no comparison


def _epoch(folder: Path, seed: int) -> int:
    return json.loads((folder / f"seed{seed}/points.json").read_text())["grokked"]


def test_a_readme_fails_when_a_number_behind_it_changes(small_results, tmp_path):
    folder = tmp_path / "results"
    shutil.copytree(small_results, folder)
    readme = tmp_path / "README.md"
    readme.write_text(f"# A project\n\n## Results\n\n{RESULTS_BEGIN}\nold\n{RESULTS_END}\n\nMore text.\n")
    main([str(folder), "--readme", str(readme)])
    assert_readme_shows(readme, folder)
    assert readme.read_text().startswith("# A project\n\n## Results\n\n") and readme.read_text().endswith(
        "More text.\n"
    )
    points = json.loads((folder / "seed1/points.json").read_text())
    (folder / "seed1/points.json").write_text(json.dumps({**points, "grokked": points["grokked"] + 1}))
    with pytest.raises(AssertionError, match="differ from the rendering"):
        assert_readme_shows(readme, folder)
    main([str(folder), "--readme", str(readme)])  # rendered again, it agrees again
    assert_readme_shows(readme, folder)
    claims = json.loads((folder / "claims.json").read_text())
    claims[1]["units"]["seed0"]["quantities"]["train_error_barrier"] += 0.01
    (folder / "claims.json").write_text(json.dumps(claims))
    with pytest.raises(AssertionError, match="differ from the rendering"):
        assert_readme_shows(readme, folder)


def test_a_readme_without_the_markers_is_named(small_results, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# No results block\n")
    with pytest.raises(SystemExit, match=f"README.md has none of the markers {RESULTS_BEGIN}"):
        main([str(small_results), "--readme", str(readme)])
    assert readme.read_text() == "# No results block\n"
