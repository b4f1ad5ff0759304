"""A tiny EEGA and its posts, shared by the model and inference tests:
random weights on the tiny encoder of ``tests/conftest.py``, four posts
with scene graphs (imported as ``from tiny_eega import ...``: pytest puts
``tests/`` on the path)."""
import torch

from jmere_pyg import EEGA, EEGAConfig
from jmere_pyg.data import (Entity, Quintuple, Sample, SceneGraph,
                            SceneObject, SceneRelation)
from jmere_pyg.graphs import GraphBuilder

WORDS = ["Curry", "and", "Thompson", "won", "the", "NBA", "trophy", "in",
         "New", "York", "with", "the", "team", "so", "happy", "stars"]


def scene(num_objects: int) -> SceneGraph:
    labels = ["man", "trophy", "shirt", "ball", "court"]
    objects = [SceneObject(labels[i % 5], 1.0 - 0.05 * i,
                           [0.0, 0.0, 10.0, 10.0]) for i in range(num_objects)]
    relations = [SceneRelation(i, "holding" if i % 2 else "near", i + 1)
                 for i in range(num_objects - 1)]
    return SceneGraph(objects, relations)


def make_samples():
    per = lambda s, e: Entity(s, e, "per")
    org = lambda s, e: Entity(s, e, "org")
    return [
        Sample(WORDS[:7], "a.jpg",
               [Quintuple(per(0, 1), per(2, 3), "peer"),
                Quintuple(per(2, 3), org(5, 6), "member_of")], scene(3)),
        Sample(WORDS, "b.jpg",
               [Quintuple(org(5, 6), Entity(8, 10, "loc"), "locate_at")],
               scene(6)),
        Sample(WORDS[:4], None, [Quintuple(per(2, 3), per(0, 1), "peer")]),
        Sample(WORDS[2:13], "d.jpg", [], scene(1)),
    ]


def fit_builder(parser=None) -> GraphBuilder:
    """A builder fitted on :func:`make_samples` (``parser``: the default
    spaCy one when ``None``)."""
    return GraphBuilder(parser=parser).fit(make_samples())


def make_model(builder, tiny_encoder_path, **overrides):
    torch.manual_seed(0)
    config = EEGAConfig(encoder=tiny_encoder_path, heads=2, edge_dim=8,
                        channel_dim=8, object_dim=16, **overrides)
    return EEGA.from_builder(builder, config)


def graphs(builder, samples):
    return [builder.build(s, sample_index=i) for i, s in enumerate(samples)]
