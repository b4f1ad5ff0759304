"""Image-to-text cross-modal attention of EEGA (eq. 8)."""
import math
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import LayerNorm, Linear

from torch_geometric.nn.conv import MessagePassing
from torch_geometric.typing import OptTensor
from torch_geometric.utils import softmax


def sample_bipartite_edge_index(
    batch_src: Tensor,
    batch_dst: Tensor,
    num_samples: Optional[int] = None,
) -> Tensor:
    r"""Connects every source node to every destination node of the same
    sample: the complete bipartite graph within each sample of a batch.

    The batch vectors need not be sorted. Edges are ordered by destination
    node, and within a destination by source node.

    Args:
        batch_src (torch.Tensor): The sample of each source node
            :math:`(N_{src})`.
        batch_dst (torch.Tensor): The sample of each destination node
            :math:`(N_{dst})`.
        num_samples (int, optional): The number of samples :math:`B`. If set
            to :obj:`None`, inferred from the largest batch entry.
            (default: :obj:`None`)

    Returns:
        torch.Tensor: The edge indices :math:`(2, \sum_b N^b_{src}
        N^b_{dst})`, sources in row 0 and destinations in row 1.

    Example:
        >>> batch_src = torch.tensor([0, 1, 1])
        >>> batch_dst = torch.tensor([0, 0, 1])
        >>> sample_bipartite_edge_index(batch_src, batch_dst)
        tensor([[0, 0, 1, 2],
                [0, 1, 2, 2]])
    """
    device = batch_dst.device
    if num_samples is None:
        num_samples = 0
        for batch in (batch_src, batch_dst):
            if batch.numel() > 0:
                num_samples = max(num_samples, int(batch.max()) + 1)

    src_count = torch.bincount(batch_src, minlength=num_samples)
    src_ptr = torch.cumsum(src_count, dim=0) - src_count
    src_sorted = torch.sort(batch_src, stable=True).indices

    degree = src_count[batch_dst]
    dst = torch.repeat_interleave(
        torch.arange(batch_dst.numel(), device=device), degree)
    first_edge = torch.cumsum(degree, dim=0) - degree
    rank = (torch.arange(dst.numel(), device=device) -
            first_edge.repeat_interleave(degree))
    src = src_sorted[src_ptr[batch_dst[dst]] + rank]
    return torch.stack([src, dst], dim=0)


class CrossModalAttention(MessagePassing):
    r"""The image-to-text cross-modal multi-head attention of EEGA (Yuan
    et al., AAAI 2023, eq. 8): every word attends to the objects of its own
    sample, and the result is added to the word representation and layer
    normalised.

    .. math::
        \alpha_{i,k} = \textrm{softmax}_{k \in \mathcal{O}(i)} \left(
        \frac{(\mathbf{W}_Q \mathbf{h}^T_i)^{\top}
        \mathbf{W}_K \mathbf{h}^I_k}{\sqrt{d_{head}}} \right)

        \tilde{\mathbf{o}}_i = \mathbf{W}_O \mathop{\Big\Vert}_{h=1}^{H}
        \sum_{k \in \mathcal{O}(i)} \alpha^{(h)}_{i,k}
        (\mathbf{W}_V \mathbf{h}^I_k)^{(h)}

        \mathbf{o}_i = \textrm{LayerNorm}(\mathbf{h}^T_i +
        \textrm{Dropout}(\tilde{\mathbf{o}}_i))

    where :math:`\mathcal{O}(i)` are the objects of the sample of word
    :math:`i` and :math:`d_{head} = d / H`. The word-object edges are built
    from the two batch vectors (see :func:`sample_bipartite_edge_index`), so
    samples of a batch never see each other.

    A word whose sample has no objects gets :math:`\tilde{\mathbf{o}}_i =
    \mathbf{0}` (not the bias of :math:`\mathbf{W}_O`), hence
    :math:`\mathbf{o}_i = \textrm{LayerNorm}(\mathbf{h}^T_i)`: every word goes
    through the same normalisation, so later layers see one scale whether or
    not the post has an image.

    Args:
        channels (int): Size of word and object features :math:`d`. Must be
            divisible by :obj:`heads`.
        heads (int, optional): Number of attention heads. (default: :obj:`4`)
        dropout (float, optional): Dropout probability of the attention
            coefficients and of the attention output. (default: :obj:`0.1`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:**
          word features :math:`(N_w, d)`, word batch vector :math:`(N_w)`,
          object features :math:`(N_o, d)`, object batch vector :math:`(N_o)`
        - **output:** word features :math:`(N_w, d)` or
          :math:`((N_w, d), ((2, E), (E, H)))` if
          :obj:`return_attention_weights=True`, where :math:`E` counts the
          word-object pairs of equal sample (row 0 objects, row 1 words)
    """
    _alpha: OptTensor

    def __init__(self, channels: int, heads: int = 4, dropout: float = 0.1,
                 **kwargs):
        kwargs.setdefault('aggr', 'add')
        kwargs.setdefault('node_dim', 0)
        super().__init__(**kwargs)

        if channels % heads != 0:
            raise ValueError(f"'channels' ({channels}) must be divisible by "
                             f"'heads' ({heads})")

        self.channels = channels
        self.heads = heads
        self.head_channels = channels // heads
        self.dropout = dropout
        self._alpha = None

        self.lin_query = Linear(channels, channels)
        self.lin_key = Linear(channels, channels)
        self.lin_value = Linear(channels, channels)
        self.lin_out = Linear(channels, channels)
        self.norm = LayerNorm(channels)

        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        self.lin_query.reset_parameters()
        self.lin_key.reset_parameters()
        self.lin_value.reset_parameters()
        self.lin_out.reset_parameters()
        self.norm.reset_parameters()

    def forward(
        self,
        x_word: Tensor,
        batch_word: Tensor,
        x_obj: Tensor,
        batch_obj: Tensor,
        return_attention_weights: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, Tuple[Tensor, Tensor]]]:
        r"""Runs the forward pass of the module.

        Args:
            x_word (torch.Tensor): The word features :math:`(N_w, d)`.
            batch_word (torch.Tensor): The sample of each word :math:`(N_w)`.
            x_obj (torch.Tensor): The object features :math:`(N_o, d)`.
            batch_obj (torch.Tensor): The sample of each object
                :math:`(N_o)`.
            return_attention_weights (bool, optional): If set to :obj:`True`,
                also returns :obj:`(edge_index, alpha)` with the attention
                coefficients :math:`(E, H)`. (default: :obj:`False`)
        """
        H, C = self.heads, self.head_channels
        num_words, num_objects = x_word.size(0), x_obj.size(0)

        edge_index = sample_bipartite_edge_index(batch_obj, batch_word)

        query = self.lin_query(x_word).view(-1, H, C)
        key = self.lin_key(x_obj).view(-1, H, C)
        value = self.lin_value(x_obj).view(-1, H, C)

        out = self.propagate(edge_index, query=(None, query),
                             key=(key, None), value=(value, None),
                             size=(num_objects, num_words))
        alpha = self._alpha
        self._alpha = None

        out = self.lin_out(out.view(-1, self.channels))
        has_object = torch.bincount(edge_index[1], minlength=num_words) > 0
        out = out * has_object.unsqueeze(-1).to(out.dtype)
        out = F.dropout(out, p=self.dropout, training=self.training)
        out = self.norm(x_word + out)

        if return_attention_weights:
            assert alpha is not None
            return out, (edge_index, alpha)
        return out

    def message(self, query_i: Tensor, key_j: Tensor, value_j: Tensor,
                index: Tensor, ptr: OptTensor,
                size_i: Optional[int]) -> Tensor:
        alpha = (query_i * key_j).sum(dim=-1) / math.sqrt(self.head_channels)
        alpha = softmax(alpha, index, ptr, size_i)
        self._alpha = alpha
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        return value_j * alpha.unsqueeze(-1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.channels}, '
                f'heads={self.heads})')
