"""Human-readable output of a finished run."""
from pathlib import Path

from ..datasets import JMEREDataset
from ..inference import Predictor
from ..run_folder import RunFolder
from .config import TrainingConfig


def format_quintuple(quintuple, tokens) -> str:
    head = " ".join(tokens[quintuple.head.start:quintuple.head.end])
    tail = " ".join(tokens[quintuple.tail.start:quintuple.tail.end])
    return (f"({head}, {quintuple.head.type}, {tail}, {quintuple.tail.type}, "
            f"{quintuple.relation})")


def print_examples(run_dir: Path, config: TrainingConfig, limit: int = 5,
                   split: str = "val") -> None:
    """Print the gold and extracted quintuples of the first ``limit`` posts of
    ``split`` with the run's best checkpoint."""
    if limit <= 0:
        return
    dataset = JMEREDataset(config.data_root, split=split,
                           max_words=config.max_words)
    predictor = Predictor.from_pretrained(str(RunFolder(run_dir).best))
    graphs = [dataset[i] for i in range(min(limit, len(dataset)))]
    samples = dataset.samples_of(graphs)
    predictions = predictor.extract(samples,
                                    built=(dataset.builder, graphs))
    for found, sample in zip(predictions, samples):
        print(f"\n{' '.join(sample.tokens)}")
        for q in sample.quintuples:
            print(f"  gold      {format_quintuple(q, sample.tokens)}")
        for q in found:
            mark = "ok " if q in sample.quintuples else "   "
            print(f"  extracted {format_quintuple(q, sample.tokens)} {mark}")
