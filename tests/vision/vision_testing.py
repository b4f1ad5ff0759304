"""Tiny randomly initialised object detectors of every supported family and
images drawn with Pillow, for the vision tests."""
from PIL import Image, ImageDraw

ID2LABEL = {0: "person", 1: "dog", 2: "car"}
NUM_QUERIES = 12
FAMILIES = ("detr", "conditional_detr", "deformable_detr", "yolos", "rt_detr")


def tiny_detector(family: str):
    """``(model, image_processor)`` of ``family`` with a few thousand random
    weights: 12 queries, 3 labels, small inputs (64-96 pixels), backbones
    built from configs (no timm, nothing downloaded)."""
    import transformers as tf

    labels = dict(id2label=ID2LABEL,
                  label2id={v: k for k, v in ID2LABEL.items()})
    detr_sizes = dict(encoder_layers=1, decoder_layers=1, encoder_ffn_dim=32,
                      decoder_ffn_dim=32, encoder_attention_heads=2,
                      decoder_attention_heads=2, num_queries=NUM_QUERIES,
                      use_timm_backbone=False, use_pretrained_backbone=False)
    resize = {"shortest_edge": 64, "longest_edge": 96}

    def resnet(stages: int):
        return tf.ResNetConfig(
            embedding_size=8, hidden_sizes=[8, 16, 16, 16][:stages],
            depths=[1] * stages, layer_type="basic",
            out_features=[f"stage{i}" for i in range(2, stages + 1)]
            if stages > 2 else ["stage2"])

    if family == "detr":
        config = tf.DetrConfig(backbone_config=resnet(2), d_model=16,
                               **detr_sizes, **labels)
        return (tf.DetrForObjectDetection(config),
                tf.DetrImageProcessor(size=resize))
    if family == "conditional_detr":
        config = tf.ConditionalDetrConfig(backbone_config=resnet(2),
                                          d_model=16, **detr_sizes, **labels)
        return (tf.ConditionalDetrForObjectDetection(config),
                tf.ConditionalDetrImageProcessor(size=resize))
    if family == "deformable_detr":
        # d_model: a multiple of 32 (GroupNorm); 2 decoder layers (the box
        # heads are tied across layers).
        config = tf.DeformableDetrConfig(
            backbone_config=resnet(4), d_model=32, num_feature_levels=3,
            encoder_n_points=2, decoder_n_points=2,
            **{**detr_sizes, "decoder_layers": 2}, **labels)
        return (tf.DeformableDetrForObjectDetection(config),
                tf.DeformableDetrImageProcessor(size=resize))
    if family == "yolos":
        config = tf.YolosConfig(hidden_size=16, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=32,
                                image_size=[64, 96], patch_size=16,
                                num_detection_tokens=NUM_QUERIES, **labels)
        return (tf.YolosForObjectDetection(config),
                tf.YolosImageProcessor(size=resize))
    if family == "rt_detr":
        backbone = tf.RTDetrResNetConfig(
            embedding_size=8, hidden_sizes=[8, 16, 16, 16],
            depths=[1, 1, 1, 1], layer_type="basic",
            out_features=["stage2", "stage3", "stage4"])
        config = tf.RTDetrConfig(
            backbone_config=backbone, encoder_in_channels=[16, 16, 16],
            encoder_hidden_dim=16, encoder_ffn_dim=32,
            encoder_attention_heads=2, d_model=16,
            decoder_in_channels=[16, 16, 16], decoder_ffn_dim=32,
            decoder_layers=1, decoder_attention_heads=2,
            num_queries=NUM_QUERIES, decoder_n_points=2, **labels)
        return (tf.RTDetrForObjectDetection(config),
                tf.RTDetrImageProcessor(size={"height": 64, "width": 64}))
    raise ValueError(f"unknown family {family!r}")


def draw_scene(size=(160, 120), seed: int = 0) -> Image.Image:
    """An RGB picture with a few coloured shapes (deterministic)."""
    image = Image.new("RGB", size, (40 + 20 * seed, 90, 160))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle([w // 8, h // 4, w // 2, h - 5], fill=(220, 30, 30))
    draw.ellipse([w // 2, h // 8, w - 5, h // 2], fill=(30, 200, 60))
    draw.line([0, 0, w, h], fill=(250, 250, 0), width=3)
    return image
