"""The files of a training run's folder (``TrainingConfig.run_dir``), named
once for the trainer, the plots, the reports and the benchmarks.

A run folder holds::

    best/                  the best-on-val checkpoint (save_pretrained)
    training_config.json   the TrainingConfig of the run
    log.jsonl              one line of losses and val scores per epoch
    last_state.pt          the state after the last finished epoch (resume)
    metrics.json           val metrics of the best checkpoint
    teacher_probs.pt       the teachers' probabilities (runs with teachers)
    refit/                 the model refitted on train + val (``refit``)
    learning_curves.png    with ``--plot``
    per_relation_f1.png    with ``--plot``
"""
from pathlib import Path
from typing import Tuple, Union

#: The best-on-val checkpoint, a ``save_pretrained`` folder.
BEST_DIR = "best"
CONFIG_FILE = "training_config.json"
LOG_FILE = "log.jsonl"
#: The state after the last finished epoch, what a resume continues from.
LAST_STATE_FILE = "last_state.pt"
METRICS_FILE = "metrics.json"
#: The teachers' probabilities of a run with ``teachers``, read on resume.
TEACHER_CACHE_FILE = "teacher_probs.pt"
#: The model refitted on train + val for the run's best epochs
#: (:mod:`jmere_pyg.training.refit`), a ``save_pretrained`` folder.
REFIT_DIR = "refit"
#: What a run leaves in its folder; any of them marks the folder as used.
RUN_FILES: Tuple[str, ...] = (BEST_DIR, LOG_FILE, CONFIG_FILE,
                              LAST_STATE_FILE, METRICS_FILE,
                              TEACHER_CACHE_FILE, REFIT_DIR)

#: Charts: learning curves of a run; per-relation F1 and the node transport
#: plan of a run or of ``evaluate --plot``.
LEARNING_CURVES_PLOT = "learning_curves.png"
PER_RELATION_PLOT = "per_relation_f1.png"
TRANSPORT_PLAN_PLOT = "transport_plan.png"


class RunFolder:
    """The paths of one run folder's files.

    Example::

        run = RunFolder("runs/eega_minilm")
        model = EEGA.from_pretrained(run.best)
        metrics = json.loads(run.metrics.read_text())
    """

    def __init__(self, path: Union[str, Path]):
        self.path = Path(path)

    @property
    def best(self) -> Path:
        return self.path / BEST_DIR

    @property
    def config(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def log(self) -> Path:
        return self.path / LOG_FILE

    @property
    def last_state(self) -> Path:
        return self.path / LAST_STATE_FILE

    @property
    def metrics(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def teacher_cache(self) -> Path:
        return self.path / TEACHER_CACHE_FILE

    @property
    def refit(self) -> Path:
        return self.path / REFIT_DIR

    def used(self) -> Tuple[str, ...]:
        """The names of :data:`RUN_FILES` present: a run was started here
        when any is."""
        return tuple(name for name in RUN_FILES
                     if (self.path / name).exists())

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"
