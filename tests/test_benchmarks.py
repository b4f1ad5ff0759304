"""The quality benchmark's variants against the experiment files that
docs/results.md reports them as: a drift between the two would put a
figure under the wrong settings."""
import importlib
from pathlib import Path

import pytest

from jmere_pyg.training import TrainingConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def quality(monkeypatch):
    # quality.py imports its sibling error_analysis.py as a top-level module.
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return importlib.import_module("quality")


@pytest.mark.parametrize("variant, experiment", [
    ("ema", "eega_minilm.json"),
    ("mpnet", "eega_mpnet.json"),
    ("mpnet_distil", "eega_mpnet_distil.json"),
])
def test_variant_is_its_experiment_file(quality, variant, experiment):
    expected = TrainingConfig.from_file(ROOT / "experiments" / experiment)
    built = quality.variant_config(
        variant, str(ROOT / "experiments" / "eega_minilm.json"),
        run_dir=expected.run_dir)
    assert built.to_dict() == expected.to_dict()


def test_variants_train_without_the_average_unless_they_say_so(quality):
    built = quality.variant_config(
        "eega", str(ROOT / "experiments" / "eega_minilm.json"), seed=7)
    assert built.ema_decay is None and built.seed == 7
    assert not {"mpnet", "mpnet_distil"} & set(quality.DEFAULT_VARIANTS)
