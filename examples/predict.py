"""Extract quintuples from new posts with a trained checkpoint.

    python examples/predict.py runs/eega_minilm/best \
        "RT @nba : Stephen Curry and Klay Thompson lift the trophy in Oakland"

Raw text is tokenised by spaCy's English tokenizer; a scene graph of the
post's image can be given as a JSON file in jmere_pyg's scene-graph format.
"""
import argparse

from jmere_pyg import EEGA, Sample
from jmere_pyg.data.tokenize import default_tokenizer
from jmere_pyg.data import read_scene_graphs
from jmere_pyg.training.reporting import format_quintuple


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("text", nargs="+")
    parser.add_argument("--scene-graphs",
                        help="JSON file: image name -> scene graph")
    parser.add_argument("--image-id")
    args = parser.parse_args()

    model = EEGA.from_pretrained(args.checkpoint)
    scene_graph = None
    if args.scene_graphs:
        scene_graph = read_scene_graphs(args.scene_graphs).get(args.image_id)
    tokenize = default_tokenizer()
    posts = [Sample(tokens=tokenize(text), image_id=args.image_id,
                    scene_graph=scene_graph) for text in args.text]
    for post, found in zip(posts, model.extract_with_confidence(posts)):
        print(" ".join(post.tokens))
        for q, confidence in found:
            print(f"  {format_quintuple(q, post.tokens)}  "
                  f"confidence {confidence:.2f}")


if __name__ == "__main__":
    main()
