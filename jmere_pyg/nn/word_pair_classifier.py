"""The word-pair classifier of EEGA (eq. 11-12)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Embedding, Linear

from .grid_conv import GridConv


class WordPairClassifier(torch.nn.Module):
    r"""The word-pair classifier of EEGA (Yuan et al., AAAI 2023, eq. 11):
    tag logits for every word pair :math:`(i, j)` from the concatenated word
    representations.

    With :obj:`hidden_channels=None` it is the paper's linear layer,

    .. math::
        \mathbf{y}_{i,j} = \mathbf{W}_p \, [\textrm{Dropout}(\mathbf{s}_i) ;
        \textrm{Dropout}(\mathbf{s}_j)] + \mathbf{b}_p

    whose logits are a sum of a head and a tail term and so cannot model an
    interaction of the two words. With :obj:`hidden_channels=h` a hidden
    layer comes first, and the embedding of the pair's syntactic distance
    (which is 0 on the diagonal alone, so entity cells are told from
    relation cells) joins it:

    .. math::
        \mathbf{y}_{i,j} = \mathbf{W}_o \, \textrm{Dropout}(\textrm{ReLU}(
        \mathbf{W}_p [\mathbf{s}_i ; \mathbf{s}_j] + \mathbf{e}_{d_{i,j}}
        + \mathbf{b}_p)) + \mathbf{b}_o

    With :obj:`conv_channels=c` as well, :class:`GridConv` refines the
    hidden states of each sample's grid of pairs before :math:`\mathbf{W}_o`,
    so that a cell sees its neighbours.

    With :obj:`bilinear_channels=r`, a bilinear term of rank :math:`r` is
    added to the logits, so that the head and the tail words interact
    multiplicatively (a biaffine scorer, Dozat and Manning, ICLR 2017, with
    class weights factored through shared :math:`r`-dimensional projections):

    .. math::
        \mathbf{y}_{i,j} \mathrel{+}= \mathbf{U} \big(
        \textrm{Dropout}(\mathbf{A} \mathbf{s}_i + \mathbf{a}) \odot
        \textrm{Dropout}(\mathbf{B} \mathbf{s}_j + \mathbf{b})\big)

    The linear parts of a biaffine scorer are already in the terms above.
    Each pair costs :math:`r` products, no :math:`(C, r, r)` tensor.

    The paper's :math:`p_{i,j} = \textrm{softmax}(\mathbf{y}_{i,j})`; the
    layer returns the logits :math:`\mathbf{y}_{i,j}` (see
    :func:`word_pair_loss`). :math:`\mathbf{W}_p` is applied as
    :math:`\mathbf{W}^{head}_p \mathbf{s}_i + \mathbf{W}^{tail}_p
    \mathbf{s}_j`, computed once per word and gathered per pair, which is
    exact and never builds the :math:`(P, 2d)` pair features; dropout on the
    words therefore draws one mask per word, shared by all its pairs.

    Args:
        channels (int): Size of each word representation :math:`d`.
        num_tags (int): Number of word-pair tags :math:`C`.
        dropout (float, optional): Dropout probability of the word
            representations. (default: :obj:`0.1`)
        hidden_channels (int, optional): Size :math:`h` of the hidden layer;
            :obj:`None` is the paper's linear classifier.
            (default: :obj:`None`)
        max_distance (int, optional): Largest syntactic distance, for the
            distance embedding of the hidden layer. (default: :obj:`10`)
        conv_channels (int, optional): Channels :math:`c` of a
            :class:`GridConv` over the hidden states (needs
            :obj:`hidden_channels`); :obj:`None` adds none.
            (default: :obj:`None`)
        bilinear_channels (int, optional): Rank :math:`r` of the bilinear
            term; :obj:`None` adds none. (default: :obj:`None`)

    Shapes:
        - **input:**
          word representations :math:`(|\mathcal{V}|, d)`,
          word pairs :math:`(2, |\mathcal{P}|)` (row 0 is the head :math:`i`),
          pair distances :math:`(|\mathcal{P}|)` (hidden layer only),
          word-to-sample index :math:`(|\mathcal{V}|)` (grid convolution
          only)
        - **output:** logits :math:`(|\mathcal{P}|, C)`
    """
    def __init__(self, channels: int, num_tags: int, dropout: float = 0.1,
                 hidden_channels: Optional[int] = None,
                 max_distance: int = 10,
                 conv_channels: Optional[int] = None,
                 bilinear_channels: Optional[int] = None):
        super().__init__()
        if conv_channels is not None and hidden_channels is None:
            raise ValueError("a grid convolution ('conv_channels') needs a "
                             "hidden layer ('hidden_channels')")
        if bilinear_channels is not None and bilinear_channels < 1:
            raise ValueError(f"'bilinear_channels' must be a positive rank, "
                             f"got {bilinear_channels}")
        self.channels = channels
        self.num_tags = num_tags
        self.dropout = dropout
        self.hidden_channels = hidden_channels
        self.conv_channels = conv_channels
        self.bilinear_channels = bilinear_channels
        width = num_tags if hidden_channels is None else hidden_channels
        self.lin = Linear(2 * channels, width)
        if hidden_channels is None:
            self.distance_embedding = self.out = None
        else:
            self.distance_embedding = Embedding(max_distance + 1,
                                                hidden_channels)
            self.out = Linear(hidden_channels, num_tags)
        self.grid_conv = (None if conv_channels is None else GridConv(
            hidden_channels, conv_channels, dropout=dropout))
        if bilinear_channels is None:
            self.bilinear_head = self.bilinear_tail = None
            self.bilinear_out = None
        else:
            self.bilinear_head = Linear(channels, bilinear_channels)
            self.bilinear_tail = Linear(channels, bilinear_channels)
            self.bilinear_out = Linear(bilinear_channels, num_tags,
                                       bias=False)
        self.reset_parameters()

    def reset_parameters(self):
        self.lin.reset_parameters()
        if self.out is not None:
            self.distance_embedding.reset_parameters()
            self.out.reset_parameters()
        if self.grid_conv is not None:
            self.grid_conv.reset_parameters()
        if self.bilinear_out is not None:
            self.bilinear_head.reset_parameters()
            self.bilinear_tail.reset_parameters()
            self.bilinear_out.reset_parameters()

    def forward(self, s: Tensor, pair_index: Tensor,
                distance: Optional[Tensor] = None,
                batch: Optional[Tensor] = None) -> Tensor:
        r"""Runs the forward pass of the module.

        Args:
            s (torch.Tensor): The word representations :math:`(N, d)`.
            pair_index (torch.Tensor): The word pairs :math:`(2, P)`.
            distance (torch.Tensor, optional): The syntactic distance of each
                pair :math:`(P)`; required with a hidden layer.
            batch (torch.Tensor, optional): The sample of every word
                :math:`(N)`; required with a grid convolution.
        """
        x = F.dropout(s, p=self.dropout, training=self.training)
        weight_head, weight_tail = self.lin.weight.split(self.channels, dim=1)
        head = x @ weight_head.t()
        tail = x @ weight_tail.t()
        y = head[pair_index[0]] + tail[pair_index[1]] + self.lin.bias
        if self.out is not None:
            y = self._hidden_logits(y, pair_index, distance, batch)
        if self.bilinear_out is not None:
            y = y + self._bilinear_logits(s, pair_index)
        return y

    def _hidden_logits(self, y: Tensor, pair_index: Tensor,
                       distance: Optional[Tensor],
                       batch: Optional[Tensor]) -> Tensor:
        if distance is None:
            raise ValueError("a WordPairClassifier with a hidden layer needs "
                             "the pair distances")
        y = F.relu(y + self.distance_embedding(distance))
        if self.grid_conv is not None:
            if batch is None:
                raise ValueError("a WordPairClassifier with a grid "
                                 "convolution needs the sample of every "
                                 "word ('batch')")
            y = self.grid_conv(y, pair_index, batch)
        y = F.dropout(y, p=self.dropout, training=self.training)
        return self.out(y)

    def _bilinear_logits(self, s: Tensor, pair_index: Tensor) -> Tensor:
        # Projected once per word and gathered per pair; dropout after the
        # projection, so each word's r features get one mask.
        head = F.dropout(self.bilinear_head(s), p=self.dropout,
                         training=self.training)
        tail = F.dropout(self.bilinear_tail(s), p=self.dropout,
                         training=self.training)
        return self.bilinear_out(head[pair_index[0]] * tail[pair_index[1]])

    def __repr__(self) -> str:
        hidden = ('' if self.hidden_channels is None else
                  f', hidden_channels={self.hidden_channels}')
        if self.conv_channels is not None:
            hidden += f', conv_channels={self.conv_channels}'
        if self.bilinear_channels is not None:
            hidden += f', bilinear_channels={self.bilinear_channels}'
        return (f'{self.__class__.__name__}({self.channels}, '
                f'num_tags={self.num_tags}{hidden})')


def word_pair_loss(logits: Tensor, labels: Tensor) -> Tensor:
    r"""The word-pair tagging loss of EEGA (Yuan et al., AAAI 2023, eq. 12):
    cross-entropy over the real word pairs, averaged over pairs.

    .. math::
        \mathcal{L}_{main} = -\frac{1}{|\mathcal{P}|}
        \sum_{(i,j) \in \mathcal{P}} \log \, \textrm{softmax}
        (\mathbf{y}_{i,j})[t_{i,j}]

    The paper sums over pairs; the mean keeps the scale independent of batch
    size and sentence length. Padding never enters: a batch holds one pair
    per ordered pair of real words. An empty batch gives a zero loss that
    still carries a gradient path, never NaN.

    Args:
        logits (torch.Tensor): The pair logits :math:`(P, C)`.
        labels (torch.Tensor): The gold tag ids :math:`(P)`.

    Returns:
        torch.Tensor: The scalar loss.
    """
    if logits.size(0) != labels.size(0):
        raise ValueError(f"'logits' ({logits.size(0)}) and 'labels' "
                         f"({labels.size(0)}) must hold the same number of "
                         f"pairs")
    if labels.numel() == 0:
        return logits.sum() * 0.0
    return F.cross_entropy(logits, labels)
