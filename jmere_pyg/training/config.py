"""Training settings, read from experiment files (JSON or YAML) and flags."""
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Union

from ..config_base import DictConfig
from ..limits import DEFAULT_MAX_WORDS
from ..models import EEGAConfig
from ..records import RecordFormat, read_config_record
from .experiment_files import read_experiment
from ..output_files import write_atomically

DEVICES = ("auto", "cpu", "cuda")
MIXED_PRECISION = ("no", "bf16")
LR_SCHEDULES = ("plateau", "linear_warmup")
#: A run's ``training_config.json``; files written before the stamps are
#: version 1.
TRAINING_CONFIG_RECORD = RecordFormat("jmere_pyg training config",
                                      unstamped=1)


@dataclass
class TrainingConfig(DictConfig):
    """How to train EEGA (paper, appendix C, where it says).

    An experiment file (:meth:`from_file`) may extend another
    (``"extends": "eega_minilm.json"``) and hold only what differs, and its
    paths are relative to its own folder, not to the working directory:
    ``data_root``, ``mnre_dir``, ``run_dir``, ``images`` and
    ``teacher_targets``, and ``teachers``, ``detector`` and
    ``model.encoder`` where they are local folders
    (:mod:`jmere_pyg.training.experiment_files`). Flags and the Python API
    take paths as given.

    Args:
        data_root (str): dataset root; its ``raw/`` holds the split files
            (see :class:`jmere_pyg.datasets.JMEREDataset`).
            (default: ``"data/jmere"``)
        mnre_dir (str, optional): copy ``mnre_{train,val}.txt`` from here into
            ``data_root/raw`` when they are not there yet. (default: ``None``)
        run_dir (str): where checkpoints, the log and metrics are written.
            (default: ``"runs/eega"``)
        epochs (int): maximum epochs. (default: ``20``)
        batch_size (int): samples per optimisation step, over all processes.
            (default: ``16``)
        eval_batch_size (int): samples per forward pass when evaluating.
            (default: ``32``)
        encoder_lr (float): learning rate of the pretrained encoder (the
            paper's ``2e-5``). (default: ``2e-5``)
        lr (float): learning rate of the new layers. (default: ``1e-3``)
        weight_decay (float): Adam's weight decay. (default: ``0.0``)
        lr_schedule (str): ``"plateau"``: both learning rates times
            ``lr_decay`` when val strict F1 has not improved for
            ``lr_decay_patience`` epochs; ``"linear_warmup"``: per step, a
            linear rise from 0 over the first ``warmup_ratio`` of the
            ``epochs * steps per epoch`` steps, then a linear decay to 0 at the
            last step of epoch ``epochs`` (an early stop ends it before).
            (default: ``"plateau"``)
        lr_decay (float): factor applied when val F1 stops improving
            (``"plateau"``). (default: ``0.5``)
        lr_decay_patience (int): epochs without improvement before decaying
            (``"plateau"``). (default: ``1``)
        warmup_ratio (float): share of the steps spent warming up
            (``"linear_warmup"``). (default: ``0.1``)
        grad_clip (float): maximum gradient norm. (default: ``1.0``)
        ema_decay (float, optional): keep an exponential moving average of
            the weights, ``avg = ema_decay * avg + (1 - ema_decay) * w``
            after every optimiser step (PyTorch's
            :class:`~torch.optim.swa_utils.AveragedModel`), and score, select
            and save the average instead of the weights themselves; the log
            then also holds the val scores of the weights themselves
            (``"online"``). ``0.998`` averages over about 500 steps; the main
            job uses it, +1.13 strict / +1.23 paper val F1 over three seeds
            with MiniLM-L6; with MPNet-base one seed showed no gain
            (``docs/results.md``). ``None`` trains without it.
            (default: ``None``)
        teachers (list of str, optional): trained checkpoints (folders of
            ``save_pretrained``) to distil into the model: every training
            word pair also learns the teachers' mean tag probabilities
            (:mod:`jmere_pyg.training.distillation`), computed once when
            training starts and kept in the run folder for ``resume``.
            ``None`` trains on the gold tags alone.
            (default: ``None``)
        teacher_targets (str, optional): instead of ``teachers``, a file of
            their probabilities on the same training posts, written by
            ``jmere-pyg teach``
            (:func:`~jmere_pyg.training.distillation.save_teacher_targets`):
            the teachers need not be on this machine. (default: ``None``)
        distill_weight (float): the soft targets' share of the word-pair
            loss with ``teachers`` or ``teacher_targets``, in ``[0, 1]``;
            ``1 - distill_weight``
            stays on the gold tags. (default: ``0.5``)
        patience (int): early stopping on val quintuple F1 (the paper's 5).
            (default: ``5``)
        seed (int): seed of every random generator. (default: ``42``)
        device (str): ``auto``, ``cpu`` or ``cuda``. (default: ``"auto"``)
        num_workers (int): data loader worker processes. (default: ``0``)
        bucket_by_length (bool): train on batches of samples of similar
            sub-word length, shuffled pools sorted by length and batches in a
            random order every epoch
            (:class:`jmere_pyg.training.sampling.LengthBucketBatchSampler`),
            so that the encoder pads less; ``False`` draws plain random
            batches. (default: ``False``)
        max_train_samples (int, optional): train on the first N samples only
            (smoke runs, overfitting checks). (default: ``None``)
        max_eval_samples (int, optional): evaluate on the first N val
            samples. (default: ``None``)
        images (str, optional): folder of the corpus's images; their scene
            graphs are extracted once into ``data_root/raw`` (see
            :class:`jmere_pyg.datasets.JMEREDataset`) and the extractor is
            recorded in the checkpoint. (default: ``None``)
        detector (str, optional): the object detector extracting them, a
            Hugging Face name or local folder. (default: ``None``, the
            default of :class:`jmere_pyg.vision.ExtractorConfig`)
        mixed_precision (str): ``"no"`` (float32 everywhere) or ``"bf16"``
            (the forward pass under bfloat16 autocast: encoder and layers in
            bfloat16 where autocast allows, the transport solvers in float32,
            weights and optimiser in float32; for GPUs, and for CPUs with
            AVX512-BF16, where an MPNet-base step takes 0.6x the time). A
            device without native bfloat16 trains in float32 instead, and
            says so (:func:`jmere_pyg.training.precision.device_precision`).
            (default: ``"no"``)
        max_words (int, optional): train and val posts with more words are
            left out, counted and reported (the word-pair graph of a post
            grows with the square of its length); ``None`` keeps all.
            MNRE's longest post has 32 words. (default: ``128``)
        model (EEGAConfig): the model's settings; in a file, a mapping of
            :class:`jmere_pyg.EEGAConfig` fields (the vocabulary sizes are
            filled in from the data). (default: ``EEGAConfig()``)

    A value outside its interval in :attr:`ranges` raises ``ValueError``
    naming the field.
    """
    data_root: str = "data/jmere"
    mnre_dir: Optional[str] = None
    run_dir: str = "runs/eega"
    epochs: int = 20
    batch_size: int = 16
    eval_batch_size: int = 32
    encoder_lr: float = 2e-5
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_schedule: str = "plateau"
    lr_decay: float = 0.5
    lr_decay_patience: int = 1
    warmup_ratio: float = 0.1
    grad_clip: float = 1.0
    ema_decay: Optional[float] = None
    teachers: Optional[List[str]] = None
    teacher_targets: Optional[str] = None
    distill_weight: float = 0.5
    patience: int = 5
    seed: int = 42
    device: str = "auto"
    num_workers: int = 0
    bucket_by_length: bool = False
    max_train_samples: Optional[int] = None
    max_eval_samples: Optional[int] = None
    images: Optional[str] = None
    detector: Optional[str] = None
    mixed_precision: str = "no"
    max_words: Optional[int] = DEFAULT_MAX_WORDS
    model: EEGAConfig = field(default_factory=EEGAConfig)

    unknown_keys_message = "unknown training settings"

    ranges = {
        **{name: "(0, inf)" for name in ("lr", "encoder_lr", "grad_clip")},
        **{name: "[1, inf)" for name in (
            "epochs", "batch_size", "eval_batch_size", "patience",
            "max_train_samples", "max_eval_samples", "max_words")},
        **{name: "[0, inf)" for name in (
            "weight_decay", "lr_decay_patience", "num_workers")},
        "lr_decay": "(0, 1]", "warmup_ratio": "[0, 1)",
        "ema_decay": "(0, 1)", "distill_weight": "[0, 1]",
        # numpy's random generator takes seeds of 32 bits
        "seed": f"[0, {2 ** 32 - 1}]",
    }

    def __post_init__(self):
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, "
                             f"got {self.device!r}")
        self.check_ranges()
        if self.detector is not None and self.images is None:
            raise ValueError("detector is set but images is not: the "
                             "detector extracts scene graphs from images")
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"mixed_precision must be one of "
                             f"{MIXED_PRECISION}, got "
                             f"{self.mixed_precision!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, "
                             f"got {self.lr_schedule!r}")
        if self.teachers is not None and (
                not isinstance(self.teachers, list) or not self.teachers
                or not all(isinstance(t, str) for t in self.teachers)):
            raise ValueError(f"teachers must be a non-empty list of "
                             f"checkpoint folders, got {self.teachers!r}")
        if self.teacher_targets is not None and (
                self.teachers is not None
                or not isinstance(self.teacher_targets, str)):
            raise ValueError(f"teacher_targets must be one file, without "
                             f"teachers; got {self.teacher_targets!r} with "
                             f"teachers {self.teachers!r}")

    @property
    def distils(self) -> bool:
        """Whether word pairs also learn soft targets (``teachers`` or
        ``teacher_targets``)."""
        return self.teachers is not None or self.teacher_targets is not None

    def save(self, path: Union[str, Path]) -> None:
        """Writes ``path`` (JSON, atomically): the settings, stamped as
        :data:`TRAINING_CONFIG_RECORD`."""
        write_atomically(path, json.dumps(
            TRAINING_CONFIG_RECORD.stamp(self.to_dict()), indent=2) + "\n")

    @classmethod
    def load(cls, path: Union[str, Path]) -> "TrainingConfig":
        """Reads a file written by :meth:`save` (a run's
        ``training_config.json``), or by a jmere_pyg before the stamps.

        Raises:
            FileNotFoundError: when ``path`` does not exist.
            ValueError: naming ``path``, for invalid JSON, another kind of
                record, a format version this jmere_pyg does not read, or
                invalid settings.
        """
        return read_config_record(path, TRAINING_CONFIG_RECORD, cls)

    @classmethod
    def from_file(cls, path: Union[str, Path]) -> "TrainingConfig":
        """Read a JSON or YAML experiment file, with the files it extends
        and its paths relative to its folder
        (:mod:`jmere_pyg.training.experiment_files`).

        Raises:
            FileNotFoundError: when the file or one it extends does not
                exist.
            ValueError: naming the file (and those it extends), for a file
                that cannot be read as settings or invalid settings.
        """
        values, files = read_experiment(path)
        try:
            return cls.from_dict(values)
        except ValueError as error:
            extended = (f" (extending {', '.join(map(str, files[1:]))})"
                        if len(files) > 1 else "")
            raise ValueError(f"{files[0]}{extended}: {error}") from None
