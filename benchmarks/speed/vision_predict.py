"""End-to-end ``jmere-pyg predict`` speed with raw images against text only.

Both runs call :func:`jmere_pyg.inference.predict_to_jsonl` on the
same posts (the first ``--posts`` of MNRE val, or made-up ones without the
shared data) with the same checkpoint: a randomly initialised EEGA (the
offline MiniLM encoder unless ``--encoder``) whose graph builder was fitted
on the detector's scene graphs and which records the extractor. With
images, every post has its own drawn ``--image-size`` JPEG and the recorded
detector extracts its scene graph (top 10 objects, score threshold 0);
text only, the posts
have no image. Times include loading the checkpoint, spaCy and the
detector, as a user's command does; the first run of each kind is a
warm-up and is not reported. Besides wall time, the process's CPU time:
on a machine shared with other jobs it is the steadier figure.

Detectors (random weights, nothing downloaded): ``tiny`` (a DETR with a
few thousand weights, the tests' kind), ``rt_detr_r50`` (RT-DETR R50-vd at
its real architecture size and 640 x 640 input, the default detector's
architecture).

Usage::

    python benchmarks/speed/vision_predict.py [--detector tiny|rt_detr_r50]
        [--posts 32] [--repeats 2] [--threads 1] [--json FILE]
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from jmere_pyg import EEGA, EEGAConfig, GraphBuilder  # noqa: E402
from jmere_pyg.data import (Sample, attach_scene_graphs,  # noqa: E402
                            read_samples, write_jsonl)
from jmere_pyg.inference import predict_to_jsonl  # noqa: E402
from jmere_pyg.vision import (ExtractorConfig, ExtractorRecord,  # noqa: E402
                              SceneGraphExtractor)

MNRE_VAL = (Path(__file__).resolve().parents[3] / "shared" / "data" / "mnre"
            / "mnre_val.txt")
ID2LABEL = {0: "person", 1: "ball", 2: "car", 3: "dog"}


def save_detector(kind: str, folder: Path) -> str:
    """A randomly initialised detector and its image processor in
    ``folder``."""
    import transformers as tf
    labels = dict(id2label=ID2LABEL,
                  label2id={v: k for k, v in ID2LABEL.items()})
    torch.manual_seed(0)
    if kind == "tiny":
        backbone = tf.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16],
                                   depths=[1, 1], layer_type="basic",
                                   out_features=["stage2"])
        model = tf.DetrForObjectDetection(tf.DetrConfig(
            backbone_config=backbone, d_model=16, encoder_layers=1,
            decoder_layers=1, encoder_ffn_dim=32, decoder_ffn_dim=32,
            encoder_attention_heads=2, decoder_attention_heads=2,
            num_queries=12, use_timm_backbone=False,
            use_pretrained_backbone=False, **labels))
        processor = tf.DetrImageProcessor(
            size={"shortest_edge": 64, "longest_edge": 96})
    elif kind == "rt_detr_r50":
        model = tf.RTDetrForObjectDetection(tf.RTDetrConfig(**labels))
        processor = tf.RTDetrImageProcessor()
    else:
        raise ValueError(f"--detector must be tiny or rt_detr_r50, "
                         f"got {kind!r}")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


def draw(size, seed: int) -> Image.Image:
    image = Image.new("RGB", size, (30 + 7 * (seed % 30), 90, 160))
    pen = ImageDraw.Draw(image)
    w, h = size
    pen.rectangle([w // 8, h // 4, w // 2, h - 5], fill=(220, 30, 30))
    pen.ellipse([w // 2, h // 8, w - 5, h // 2], fill=(30, 200, 60))
    return image


def posts(count: int):
    if MNRE_VAL.is_file():
        samples = read_samples(MNRE_VAL)[0][:count]
        return [Sample(s.tokens, f"post{i}.jpg")
                for i, s in enumerate(samples)]
    words = "RT @nba : Curry and Thompson lift the trophy in Oakland".split()
    return [Sample(words, f"post{i}.jpg") for i in range(count)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detector", default="tiny")
    parser.add_argument("--posts", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--image-size", type=int, nargs=2, default=(640, 480))
    parser.add_argument("--encoder", help="default: the offline MiniLM")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # Random weights score low: threshold 0 keeps the top 10 objects, as
        # a real detector does on a busy photo.
        config = ExtractorConfig(
            detector=save_detector(args.detector, tmp / "detector"),
            score_threshold=0.0)
        images = tmp / "images"
        images.mkdir()
        samples = posts(args.posts)
        for i, sample in enumerate(samples):
            draw(tuple(args.image_size), i).save(images / sample.image_id)
        extractor = SceneGraphExtractor(config)
        graphs = extractor.extract(sorted(images.iterdir())).graphs
        builder = GraphBuilder(object_feature_dim=extractor.feature_dim).fit(
            attach_scene_graphs(samples, graphs))
        model = EEGA.from_builder(builder, EEGAConfig(encoder=args.encoder))
        model.extractor_record = ExtractorRecord.of(config)
        model.save_pretrained(tmp / "ckpt")
        with_images = tmp / "posts.jsonl"
        write_jsonl(samples, with_images)
        text_only = tmp / "text_only.jsonl"
        write_jsonl([Sample(s.tokens, None) for s in samples], text_only)

        rows = []
        for name, path, folder in (("text only", text_only, None),
                                   ("with images", with_images, images)):
            seconds, cpu_seconds = [], []
            for _ in range(args.repeats + 1):
                started, cpu_started = time.perf_counter(), time.process_time()
                predict_to_jsonl(str(tmp / "ckpt"), path=str(path),
                                 images=None if folder is None
                                 else str(folder))
                seconds.append(time.perf_counter() - started)
                cpu_seconds.append(time.process_time() - cpu_started)
            best, cpu = min(seconds[1:]), min(cpu_seconds[1:])
            rows.append({"run": name, "posts": len(samples),
                         "seconds": round(best, 2),
                         "posts_per_second": round(len(samples) / best, 2),
                         "cpu_seconds": round(cpu, 2),
                         "posts_per_cpu_second": round(len(samples) / cpu,
                                                       2)})
    objects = sum(g.num_objects for g in graphs.values()) / max(len(graphs), 1)
    print(f"detector {args.detector} (random weights), "
          f"{args.image_size[0]}x{args.image_size[1]} JPEGs, "
          f"{objects:.1f} objects per image, threads {args.threads}")
    print(f"| run | posts | wall s (min of {args.repeats}) | posts/s | "
          f"CPU s | posts per CPU s |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['run']} | {row['posts']} | {row['seconds']} | "
              f"{row['posts_per_second']} | {row['cpu_seconds']} | "
              f"{row['posts_per_cpu_second']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"detector": args.detector, "threads": args.threads,
             "image_size": args.image_size, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
