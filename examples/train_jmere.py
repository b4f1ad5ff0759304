"""Train and evaluate EEGA on JMERE with the Python API.

    python examples/train_jmere.py --mnre-dir ../shared/data/mnre --epochs 3

Builds the JMERE dataset from the MNRE text files, trains EEGA (offline
MiniLM encoder by default; ``--encoder bert-base-uncased`` as in the paper),
keeps the best-on-val checkpoint, prints val P/R/F1 and a few extractions.
"""
import argparse

from jmere_pyg import JMEREDataset, Predictor
from jmere_pyg.training import TrainingConfig, train
from jmere_pyg.training.reporting import format_quintuple
from jmere_pyg.run_folder import RunFolder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnre-dir", default="../shared/data/mnre")
    parser.add_argument("--data-root", default="data/jmere")
    parser.add_argument("--run-dir", default="runs/example")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--encoder", default=None)
    args = parser.parse_args()

    config = TrainingConfig(data_root=args.data_root, mnre_dir=args.mnre_dir,
                            run_dir=args.run_dir, epochs=args.epochs,
                            model={"encoder": args.encoder})
    result = train(config)
    for protocol in ("strict", "paper", "mner"):
        figures = result.val_metrics[protocol]
        print(f"val {protocol:6s} P {figures['precision']:.4f} "
              f"R {figures['recall']:.4f} F1 {figures['f1']:.4f}")

    predictor = Predictor.from_pretrained(str(RunFolder(result.run_dir).best))
    posts = JMEREDataset(args.data_root, split="val").samples_of()[:3]
    for post, quintuples in zip(posts, predictor.extract(posts)):
        print(" ".join(post.tokens))
        for q in quintuples:
            print(f"  {format_quintuple(q, post.tokens)}")


if __name__ == "__main__":
    main()
