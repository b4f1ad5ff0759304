"""Reusable EEGA layers: word encoder, attribute transformer, cross-modal
attention, multi-channel layer and word-pair classifier."""
from .text_encoder import WordEncoder, WordEncoderInfo
from .attribute_transformer import AttributeTransformerConv
from .cross_modal_attention import (
    CrossModalAttention,
    sample_bipartite_edge_index,
)
from .multi_channel import CHANNELS, MultiChannelLayer
from .word_pair_classifier import WordPairClassifier, word_pair_loss

__all__ = [
    'WordEncoder',
    'WordEncoderInfo',
    'AttributeTransformerConv',
    'CrossModalAttention',
    'sample_bipartite_edge_index',
    'CHANNELS',
    'MultiChannelLayer',
    'WordPairClassifier',
    'word_pair_loss',
]
