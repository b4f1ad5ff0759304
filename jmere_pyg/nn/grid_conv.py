"""Dilated convolutions over the word-pair grid of each sample."""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Conv2d, Linear, ModuleList


class GridConv(torch.nn.Module):
    r"""Dilated 2-D convolutions over each sample's :math:`n \times n` grid
    of word-pair states, added to them (residual), after W2NER (Li et al.,
    AAAI 2022).

    A word-pair cell otherwise sees its two words only. An entity's span is
    a triangle of cells and a relation a block of cells, which are decoded
    by their majority (:func:`jmere_pyg.tagging.decode_grid`); the
    convolutions let a cell see its neighbours, so the cells of one span or
    one block can agree:

    .. math::
        \mathbf{x} = \textrm{GELU}(\mathbf{W}_r \mathbf{h}), \quad
        \mathbf{h}' = \mathbf{h} + \mathbf{W}_e \,
        \textrm{Dropout}\big(\big\Vert_{d \in D}
        \textrm{GELU}(\textrm{Conv}_{3 \times 3, d}(\mathbf{x}))\big)

    Each sample's cells are written into a grid of zeros
    :math:`[B, c, n_{max}, n_{max}]`, so every sample sees zeros beyond its
    own :math:`n` words, exactly as if it were convolved alone with zero
    padding.

    Args:
        channels (int): Size :math:`h` of each pair state.
        conv_channels (int): Size :math:`c` of the convolutions' input and of
            each one's output; :math:`\mathbf{W}_r` reduces :math:`h` to it.
        dilations (sequence of int, optional): The dilations :math:`D`, one
            convolution each, all applied to :math:`\mathbf{x}`.
            (default: :obj:`(1, 2, 3)`)
        dropout (float, optional): Dropout probability of the concatenated
            convolution outputs. (default: :obj:`0.1`)

    Shapes:
        - **input:**
          pair states :math:`(|\mathcal{P}|, h)`,
          word pairs :math:`(2, |\mathcal{P}|)` (row 0 is the head :math:`i`),
          word-to-sample index :math:`(|\mathcal{V}|)`, non-decreasing
        - **output:** pair states :math:`(|\mathcal{P}|, h)`
    """
    def __init__(self, channels: int, conv_channels: int,
                 dilations: Sequence[int] = (1, 2, 3), dropout: float = 0.1):
        super().__init__()
        if not dilations or min(dilations) < 1:
            raise ValueError(f"dilations must be positive integers, got "
                             f"{tuple(dilations)}")
        self.channels = channels
        self.conv_channels = conv_channels
        self.dilations = tuple(int(d) for d in dilations)
        self.dropout = dropout
        self.reduce = Linear(channels, conv_channels)
        self.convs = ModuleList(
            Conv2d(conv_channels, conv_channels, kernel_size=3, padding=d,
                   dilation=d) for d in self.dilations)
        self.expand = Linear(conv_channels * len(self.dilations), channels)
        self.reset_parameters()

    def reset_parameters(self):
        self.reduce.reset_parameters()
        for conv in self.convs:
            conv.reset_parameters()
        self.expand.reset_parameters()

    @staticmethod
    def cell_positions(pair_index: Tensor, batch: Tensor
                       ) -> Tuple[Tensor, Tensor, Tensor, int]:
        """The sample, row and column of every pair, and the largest word
        count :math:`n_{max}`."""
        counts = torch.bincount(batch)
        first_word = counts.cumsum(0) - counts
        sample = batch[pair_index[0]]
        row = pair_index[0] - first_word[sample]
        col = pair_index[1] - first_word[sample]
        return sample, row, col, int(counts.max()) if counts.numel() else 0

    def forward(self, h: Tensor, pair_index: Tensor, batch: Tensor) -> Tensor:
        r"""Runs the forward pass of the module.

        Args:
            h (torch.Tensor): The pair states :math:`(P, h)`.
            pair_index (torch.Tensor): The word pairs :math:`(2, P)`; both
                words of a pair belong to one sample.
            batch (torch.Tensor): The sample of every word :math:`(N)`.
        """
        if h.size(0) == 0:
            return h
        sample, row, col, size = self.cell_positions(pair_index, batch)
        num_samples = int(batch.max()) + 1
        x = F.gelu(self.reduce(h))
        grid = x.new_zeros(num_samples, size, size, self.conv_channels)
        grid[sample, row, col] = x
        grid = grid.permute(0, 3, 1, 2)  # [B, c, n_max, n_max]
        out = torch.cat([F.gelu(conv(grid)) for conv in self.convs], dim=1)
        out = out.permute(0, 2, 3, 1)[sample, row, col]  # [P, c * |D|]
        out = F.dropout(out, p=self.dropout, training=self.training)
        return h + self.expand(out)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.channels}, '
                f'conv_channels={self.conv_channels}, '
                f'dilations={self.dilations})')
