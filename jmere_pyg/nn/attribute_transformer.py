"""The attribute transformer of EEGA (eq. 3-4): typed-edge graph attention."""
import math
from typing import Optional, Tuple, Union

import torch.nn.functional as F
from torch import Tensor
from torch.nn import Embedding, LayerNorm, Linear

from torch_geometric.nn.conv import MessagePassing
from torch_geometric.typing import Adj, OptTensor
from torch_geometric.utils import softmax


class AttributeTransformerConv(MessagePassing):
    r"""The attribute transformer layer of "Joint Multimodal Entity-Relation
    Extraction Based on Edge-enhanced Graph Alignment Network and Word-pair
    Relation Tagging" (EEGA, Yuan et al., AAAI 2023, eq. 3-4):
    a transformer block whose multi-head self-attention is restricted to graph
    neighbours and whose keys and values carry an embedding of the edge type.

    For every head, node :math:`i` attends over its neighbours
    :math:`j \in \mathcal{N}(i)` (the sources of the edges :math:`j \to i`):

    .. math::
        \alpha_{i,j} = \textrm{softmax}_{j \in \mathcal{N}(i)} \left(
        \frac{(\mathbf{W}_Q \mathbf{x}_i)^{\top}
        (\mathbf{W}_K \mathbf{x}_j + \mathbf{W}_z \mathbf{z}_{i,j})}
        {\sqrt{d_{head}}} \right)

        \tilde{\mathbf{h}}_i = \mathbf{W}_O \mathop{\Big\Vert}_{h=1}^{H}
        \sum_{j \in \mathcal{N}(i)} \alpha^{(h)}_{i,j}
        \left(\mathbf{W}_V \mathbf{x}_j + \mathbf{W}_r \mathbf{z}_{i,j}
        \right)^{(h)}

    where :math:`\mathbf{z}_{i,j} = \mathbf{Z}[\textrm{type}_{j \to i}]` is a
    learned embedding of the edge type and :math:`d_{head} = F_{in} / H`.
    The rest is the post-norm transformer block:

    .. math::
        \mathbf{u}_i = \textrm{LayerNorm}(\mathbf{x}_i +
        \textrm{Dropout}(\tilde{\mathbf{h}}_i))

        \mathbf{x}^{\prime}_i = \textrm{LayerNorm}(\mathbf{u}_i +
        \textrm{Dropout}(\mathbf{W}_2 \, \textrm{Dropout}(
        \textrm{ReLU}(\mathbf{W}_1 \mathbf{u}_i))))

    The attention works in :math:`F_{in}` and the feed-forward network maps
    :math:`F_{in}` to :math:`F_{out}`, which is how the visual graph maps
    object features of size :math:`d_I` to the text size :math:`d_T`. The
    second residual connection exists only when :math:`F_{in} = F_{out}`;
    otherwise :math:`\mathbf{x}^{\prime}_i = \textrm{LayerNorm}(\textrm{FFN}(
    \mathbf{u}_i))`.

    A node without incoming edges receives a zero attention sum, so its
    :math:`\tilde{\mathbf{h}}_i` is the bias of :math:`\mathbf{W}_O`; add
    self loops to let every node attend to itself.

    Args:
        in_channels (int): Size of each input sample, :math:`F_{in}`. Must be
            divisible by :obj:`heads`.
        out_channels (int): Size of each output sample, :math:`F_{out}`.
        heads (int, optional): Number of attention heads. (default: :obj:`4`)
        num_edge_types (int): Number of edge types, the rows of
            :math:`\mathbf{Z}` (keyword-only).
        edge_dim (int, optional): Size of the edge-type embedding
            :math:`\mathbf{z}`. (default: :obj:`100`)
        dropout (float, optional): Dropout probability of the attention
            coefficients, the attention output and the feed-forward network.
            (default: :obj:`0.1`)
        ffn_channels (int, optional): Hidden size of the feed-forward network.
            If set to :obj:`None`, uses :obj:`4 * out_channels`.
            (default: :obj:`None`)
        use_edge_types (bool, optional): If set to :obj:`False`, edge types
            are ignored (no :math:`\mathbf{Z}`, :math:`\mathbf{W}_z`,
            :math:`\mathbf{W}_r`) and the layer is a vanilla transformer
            block restricted to graph neighbours (the "w/o attribute
            transformer" ablation). (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:**
          node features :math:`(|\mathcal{V}|, F_{in})`,
          edge indices :math:`(2, |\mathcal{E}|)`,
          edge types :math:`(|\mathcal{E}|)` (long, in
          :obj:`[0, num_edge_types)`; may be :obj:`None` when
          :obj:`use_edge_types=False`)
        - **output:** node features :math:`(|\mathcal{V}|, F_{out})` or
          :math:`((|\mathcal{V}|, F_{out}), ((2, |\mathcal{E}|),
          (|\mathcal{E}|, H)))` if :obj:`return_attention_weights=True`
    """
    _alpha: OptTensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        heads: int = 4,
        *,
        num_edge_types: int,
        edge_dim: int = 100,
        dropout: float = 0.1,
        ffn_channels: Optional[int] = None,
        use_edge_types: bool = True,
        **kwargs,
    ):
        kwargs.setdefault('aggr', 'add')
        kwargs.setdefault('node_dim', 0)
        super().__init__(**kwargs)

        if in_channels % heads != 0:
            raise ValueError(f"'in_channels' ({in_channels}) must be "
                             f"divisible by 'heads' ({heads})")
        if num_edge_types < 1:
            raise ValueError(f"'num_edge_types' must be at least 1 "
                             f"(got {num_edge_types})")

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.heads = heads
        self.head_channels = in_channels // heads
        self.num_edge_types = num_edge_types
        self.edge_dim = edge_dim
        self.dropout = dropout
        self.ffn_channels = ffn_channels or 4 * out_channels
        self.use_edge_types = use_edge_types
        self._alpha = None

        self.lin_query = Linear(in_channels, in_channels)
        self.lin_key = Linear(in_channels, in_channels)
        self.lin_value = Linear(in_channels, in_channels)
        if use_edge_types:
            self.edge_embedding = Embedding(num_edge_types, edge_dim)
            self.lin_edge_key = Linear(edge_dim, in_channels, bias=False)
            self.lin_edge_value = Linear(edge_dim, in_channels, bias=False)
        else:
            self.register_parameter('edge_embedding', None)
            self.register_parameter('lin_edge_key', None)
            self.register_parameter('lin_edge_value', None)
        self.lin_out = Linear(in_channels, in_channels)
        self.norm_attention = LayerNorm(in_channels)
        self.lin_ffn1 = Linear(in_channels, self.ffn_channels)
        self.lin_ffn2 = Linear(self.ffn_channels, out_channels)
        self.norm_ffn = LayerNorm(out_channels)

        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        self.lin_query.reset_parameters()
        self.lin_key.reset_parameters()
        self.lin_value.reset_parameters()
        if self.edge_embedding is not None:
            self.edge_embedding.reset_parameters()
            self.lin_edge_key.reset_parameters()
            self.lin_edge_value.reset_parameters()
        self.lin_out.reset_parameters()
        self.norm_attention.reset_parameters()
        self.lin_ffn1.reset_parameters()
        self.lin_ffn2.reset_parameters()
        self.norm_ffn.reset_parameters()

    def forward(
        self,
        x: Tensor,
        edge_index: Adj,
        edge_type: OptTensor = None,
        return_attention_weights: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, Tuple[Tensor, Tensor]]]:
        r"""Runs the forward pass of the module.

        Args:
            x (torch.Tensor): The node features :math:`(N, F_{in})`.
            edge_index (torch.Tensor): The edge indices :math:`(2, E)`; node
                :obj:`edge_index[1, e]` attends to :obj:`edge_index[0, e]`.
            edge_type (torch.Tensor, optional): The edge types :math:`(E)`.
                Required when :obj:`use_edge_types=True`.
                (default: :obj:`None`)
            return_attention_weights (bool, optional): If set to :obj:`True`,
                also returns :obj:`(edge_index, alpha)` with the attention
                coefficients :math:`(E, H)`. (default: :obj:`False`)
        """
        H, C = self.heads, self.head_channels

        query = self.lin_query(x).view(-1, H, C)
        key = self.lin_key(x).view(-1, H, C)
        value = self.lin_value(x).view(-1, H, C)

        edge_key = edge_value = None
        if self.use_edge_types:
            if edge_type is None:
                raise ValueError("'edge_type' is required when "
                                 "'use_edge_types' is True")
            # Project the (few) type embeddings once, then look them up.
            z = self.edge_embedding.weight
            edge_key = self.lin_edge_key(z)[edge_type].view(-1, H, C)
            edge_value = self.lin_edge_value(z)[edge_type].view(-1, H, C)

        out = self.propagate(edge_index, query=query, key=key, value=value,
                             edge_key=edge_key, edge_value=edge_value,
                             size=(x.size(0), x.size(0)))
        alpha = self._alpha
        self._alpha = None

        h = self.lin_out(out.view(-1, self.in_channels))
        h = F.dropout(h, p=self.dropout, training=self.training)
        u = self.norm_attention(x + h)

        f = F.relu(self.lin_ffn1(u))
        f = F.dropout(f, p=self.dropout, training=self.training)
        f = F.dropout(self.lin_ffn2(f), p=self.dropout,
                      training=self.training)
        if self.in_channels == self.out_channels:
            f = u + f
        out = self.norm_ffn(f)

        if return_attention_weights:
            assert alpha is not None
            return out, (edge_index, alpha)
        return out

    def message(self, query_i: Tensor, key_j: Tensor, value_j: Tensor,
                edge_key: OptTensor, edge_value: OptTensor, index: Tensor,
                ptr: OptTensor, size_i: Optional[int]) -> Tensor:
        if edge_key is not None:
            key_j = key_j + edge_key
            value_j = value_j + edge_value

        alpha = (query_i * key_j).sum(dim=-1) / math.sqrt(self.head_channels)
        alpha = softmax(alpha, index, ptr, size_i)
        self._alpha = alpha
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        return value_j * alpha.unsqueeze(-1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, heads={self.heads}, '
                f'num_edge_types={self.num_edge_types}, '
                f'use_edge_types={self.use_edge_types})')
