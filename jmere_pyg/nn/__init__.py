"""Reusable EEGA layers: word encoder, attribute transformer, cross-modal
attention, multi-channel layer, grid convolution, word-pair classifier and the
auxiliary entity boundary head."""
from .text_encoder import WordEncoder, WordEncoderInfo
from .attribute_transformer import AttributeTransformerConv
from .cross_modal_attention import (
    CrossModalAttention,
    sample_bipartite_edge_index,
)
from .multi_channel import CHANNELS, MultiChannelLayer
from .grid_conv import GridConv
from .word_pair_classifier import WordPairClassifier, word_pair_loss
from .entity_boundary import (NUM_BOUNDARY_TAGS, EntityBoundaryHead,
                              boundary_labels)

__all__ = [
    'WordEncoder',
    'WordEncoderInfo',
    'AttributeTransformerConv',
    'CrossModalAttention',
    'sample_bipartite_edge_index',
    'CHANNELS',
    'MultiChannelLayer',
    'GridConv',
    'WordPairClassifier',
    'word_pair_loss',
    'NUM_BOUNDARY_TAGS',
    'EntityBoundaryHead',
    'boundary_labels',
]
