"""The README stays a two-minute read that keeps its quick start, and no
Markdown link of the repository's documents points at a file that is not
there (benchmarks and results move)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = sorted([README, *(ROOT / "docs").glob("*.md"),
                    *(ROOT / "benchmarks").rglob("*.md")])
QUICK_START = (
    "bash scripts/setup.sh && .venv/bin/jmere-pyg train --config "
    "experiments/eega_minilm.json --plot",
    "bash scripts/setup.sh && .venv/bin/python -m pytest -q",
)
#: [text](target), the target up to a '#' anchor or a closing parenthesis.
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_readme_is_short_and_keeps_its_quick_start_and_results_table():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200
    for command in QUICK_START:
        assert command in lines
    section = lines[lines.index("## Results"):]
    section = section[:next(i for i, line in enumerate(section[1:], 1)
                            if line.startswith("## "))]
    assert 0 < sum(line.startswith("|") for line in section) <= 12
    assert any("(docs/results.md)" in line for line in section)


@pytest.mark.parametrize("document", DOCUMENTS,
                         ids=lambda path: str(path.relative_to(ROOT)))
def test_relative_links_point_at_files_that_exist(document):
    targets = LINK.findall(document.read_text(encoding="utf-8"))
    missing = [target for target in targets
               if "://" not in target
               and not (document.parent / target).exists()]
    assert missing == []
