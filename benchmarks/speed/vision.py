"""Images per second of scene-graph extraction (``SceneGraphExtractor``)
for the detector families at their real architecture sizes.

No detector weights can be downloaded here, so every detector is built from
its published configuration's shapes with random weights, saved to a
temporary folder with its image processor at the published input size, and
loaded back through ``SceneGraphExtractor`` (the code path users take).
Random weights cost the same arithmetic as trained ones; only the number of
objects above the score threshold differs, so the threshold is 0 and every
image keeps ``top_k`` objects (the relations' cost is the largest).

The images are synthetic 640 x 480 JPEGs drawn with Pillow. Timed: the whole
``extract`` call (reading and decoding the file, the image processor, the
detector, query selection, predicates), one call for all timed images
with ``batch_size=1``, after one warm-up image; the rate is images / wall
time. The CPU time of the process per image is given beside it: on a
shared machine it is the steadier figure.

Usage::

    python benchmarks/speed/vision.py [--threads 1] [--images 4] [--device cpu]
        [--families rt_detr_r18 ...] [--output benchmarks/results/vision.md]
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from jmere_pyg.testing.machine import describe_machine  # noqa: E402
from jmere_pyg.vision import ExtractorConfig, SceneGraphExtractor  # noqa: E402

#: Published COCO val2017 box AP from the model cards (not measured here).
PUBLISHED_AP = {"detr_r50": ("facebook/detr-resnet-50", 42.0),
                "rt_detr_r18": ("PekingU/rtdetr_r18vd", 46.5),
                "rt_detr_r50": ("PekingU/rtdetr_r50vd", 53.1),
                "yolos_tiny": ("hustvl/yolos-tiny", 28.7),
                "yolos_small": ("hustvl/yolos-small", 36.1),
                "conditional_detr_r50": (
                    "microsoft/conditional-detr-resnet-50", None),
                "deformable_detr_r50": ("SenseTime/deformable-detr", None)}


def coco_labels(count: int):
    labels = {i: f"class_{i}" for i in range(count)}
    return dict(id2label=labels, label2id={v: k for k, v in labels.items()})


def build(family: str):
    """``(model, image_processor, input description)`` of ``family`` with
    the published configuration's shapes and random weights."""
    import transformers as tf

    resnet50 = tf.ResNetConfig(out_features=["stage4"])  # ResNet-50 shapes
    detr_like = dict(use_timm_backbone=False, use_pretrained_backbone=False)
    if family == "detr_r50":
        config = tf.DetrConfig(backbone_config=resnet50, **detr_like,
                               **coco_labels(91))
        return (tf.DetrForObjectDetection(config), tf.DetrImageProcessor(),
                "shortest side 800, longest 1333")
    if family == "conditional_detr_r50":
        config = tf.ConditionalDetrConfig(backbone_config=resnet50,
                                          **detr_like, **coco_labels(91))
        return (tf.ConditionalDetrForObjectDetection(config),
                tf.ConditionalDetrImageProcessor(),
                "shortest side 800, longest 1333")
    if family == "deformable_detr_r50":
        backbone = tf.ResNetConfig(out_features=["stage2", "stage3",
                                                 "stage4"])
        config = tf.DeformableDetrConfig(backbone_config=backbone,
                                         **detr_like, **coco_labels(91))
        return (tf.DeformableDetrForObjectDetection(config),
                tf.DeformableDetrImageProcessor(),
                "shortest side 800, longest 1333")
    if family == "rt_detr_r50":
        config = tf.RTDetrConfig(**coco_labels(80))  # defaults: R50-vd
        return (tf.RTDetrForObjectDetection(config),
                tf.RTDetrImageProcessor(), "640 x 640")
    if family == "rt_detr_r18":
        backbone = tf.RTDetrResNetConfig(
            depths=[2, 2, 2, 2], layer_type="basic",
            hidden_sizes=[64, 128, 256, 512], out_indices=[2, 3, 4])
        config = tf.RTDetrConfig(backbone_config=backbone,
                                 encoder_in_channels=[128, 256, 512],
                                 hidden_expansion=0.5, decoder_layers=3,
                                 **coco_labels(80))
        return (tf.RTDetrForObjectDetection(config),
                tf.RTDetrImageProcessor(), "640 x 640")
    if family == "yolos_tiny":  # as transformers' YOLOS conversion script
        config = tf.YolosConfig(hidden_size=192, intermediate_size=768,
                                num_attention_heads=3, image_size=[800, 1333],
                                use_mid_position_embeddings=False,
                                **coco_labels(91))
        return (tf.YolosForObjectDetection(config),
                tf.YolosImageProcessor(size={"shortest_edge": 512,
                                             "longest_edge": 1333}),
                "shortest side 512, longest 1333")
    if family == "yolos_small":
        config = tf.YolosConfig(hidden_size=384, intermediate_size=1536,
                                num_attention_heads=6, **coco_labels(91))
        return (tf.YolosForObjectDetection(config),
                tf.YolosImageProcessor(size={"shortest_edge": 800,
                                             "longest_edge": 1333}),
                "shortest side 800, longest 1333")
    raise ValueError(f"unknown family {family!r}; allowed: "
                     f"{sorted(PUBLISHED_AP)}")


def draw_images(folder: Path, count: int):
    paths = []
    for i in range(count):
        image = Image.new("RGB", (640, 480), (30 * i % 255, 120, 200))
        draw = ImageDraw.Draw(image)
        for j in range(6):
            x, y = 60 + 90 * j, 40 + (37 * (i + j)) % 300
            draw.rectangle([x, y, x + 70, y + 120],
                           fill=(200, 40 * j % 255, 90))
            draw.ellipse([x + 10, y - 30, x + 60, y + 10],
                         fill=(240, 200, 160))
        path = folder / f"synthetic_{i}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", nargs="+", default=[
        "rt_detr_r18", "rt_detr_r50", "detr_r50", "conditional_detr_r50",
        "deformable_detr_r50", "yolos_tiny", "yolos_small"])
    parser.add_argument("--images", type=int, default=4,
                        help="timed images per detector (after 1 warm-up)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--output", default=None,
                        help="Markdown file for the results table")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = draw_images(tmp, args.images + 1)
        for family in args.families:
            torch.manual_seed(0)
            model, processor, input_size = build(family)
            parameters = sum(p.numel() for p in model.parameters())
            folder = tmp / family
            model.save_pretrained(folder)
            processor.save_pretrained(folder)
            del model
            config = ExtractorConfig(detector=str(folder), top_k=args.top_k,
                                     score_threshold=0.0, batch_size=1)
            extractor = SceneGraphExtractor(config, device=args.device)
            extractor.extract(paths[:1])  # warm-up
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            start, cpu_start = time.perf_counter(), time.process_time()
            result = extractor.extract(paths[1:])
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            cpu = (time.process_time() - cpu_start) / args.images
            assert len(result.graphs) == args.images, result.summary()
            name, ap = PUBLISHED_AP[family]
            rows.append((family, name, parameters, input_size,
                         args.images / seconds, seconds / args.images, cpu,
                         ap, extractor.feature_dim))
            print(f"{family}: {args.images / seconds:.3f} images/s "
                  f"({seconds / args.images:.2f} s/image, CPU "
                  f"{cpu:.2f} s/image)", flush=True)
            del extractor
    table = ["| detector (shapes of) | parameters | detector input | "
             "images/s | wall s/image | CPU s/image | feature dim | "
             "published COCO AP |",
             "|---|---|---|---|---|---|---|---|"]
    for family, name, parameters, size, rate, per, cpu, ap, dim in rows:
        table.append(f"| {family} (`{name}`) | {parameters / 1e6:.1f} M | "
                     f"{size} | {rate:.3f} | {per:.2f} | {cpu:.2f} | {dim} | "
                     f"{ap if ap is not None else 'not cited'} |")
    text = "\n".join(table)
    print(text)
    if args.output:
        command = "python benchmarks/speed/vision.py " + " ".join(sys.argv[1:])
        Path(args.output).write_text(
            f"# Scene-graph extraction speed\n\n"
            f"Command: `{command}`\n\n"
            f"Machine: {describe_machine(args.threads)}, device "
            f"{args.device}.\n\n"
            f"{text}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
