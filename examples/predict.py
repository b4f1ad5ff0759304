"""Extract quintuples from new posts with a trained checkpoint.

    python examples/predict.py runs/eega_minilm/best \
        "RT @nba : Stephen Curry and Klay Thompson lift the trophy in Oakland"

Raw text is tokenised by spaCy's English tokenizer; a scene graph of the
post's image can be given as a JSON file in jmere_pyg's scene-graph format.
"""
import argparse

from jmere_pyg import Predictor, Sample
from jmere_pyg.data import attach_scene_graphs, read_scene_graphs
from jmere_pyg.data.tokenize import default_tokenizer
from jmere_pyg.training.reporting import format_quintuple


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("text", nargs="+")
    parser.add_argument("--scene-graphs",
                        help="JSON file: image name -> scene graph")
    parser.add_argument("--image-id")
    args = parser.parse_args()

    predictor = Predictor.from_pretrained(args.checkpoint)
    tokenize = default_tokenizer()
    posts = [Sample(tokens=tokenize(text), image_id=args.image_id)
             for text in args.text]
    if args.scene_graphs:
        posts = attach_scene_graphs(posts,
                                    read_scene_graphs(args.scene_graphs))
    for post, found in zip(posts, predictor.predict(posts)):
        print(" ".join(post.tokens))
        for q, confidence in found:
            print(f"  {format_quintuple(q, post.tokens)}  "
                  f"confidence {confidence:.2f}")


if __name__ == "__main__":
    main()
