"""The multi-channel layer of EEGA (eq. 9-10, W-GCN over word pairs)."""
from typing import Dict, Sequence, Tuple

import torch
from torch import Tensor
from torch.nn import Dropout, Embedding, Linear, ModuleDict, ReLU, Sequential

from torch_geometric.nn.conv import MessagePassing
from torch_geometric.typing import OptTensor
from torch_geometric.utils import softmax

#: The linguistic channels of the multi-channel layer, in output order.
CHANNELS: Tuple[str, ...] = ('pos', 'distance', 'pmi')


class MultiChannelLayer(MessagePassing):
    r"""The multi-channel layer of EEGA (Yuan et al., AAAI 2023, eq. 9-10 and
    Appendix A): one weighted graph convolution (W-GCN) per linguistic
    word-pair channel, whose outputs are concatenated and mixed by an MLP.

    Every channel :math:`l` embeds a word-pair feature into
    :math:`\mathbf{r}^l_{i,j} \in \mathbb{R}^{d_l}`:

    * :obj:`'pos'`: :math:`\mathbf{r}_{i,j} = \mathbf{E}_{pos}[p_i] +
      \mathbf{E}_{pos}[p_j]` (part-of-speech ids of both words),
    * :obj:`'distance'`: :math:`\mathbf{r}_{i,j} = \mathbf{E}_{dist}
      [\delta_{i,j}]` (hops in the dependency tree,
      :math:`0 \ldots` :obj:`max_distance`),
    * :obj:`'pmi'`: :math:`\mathbf{r}_{i,j} = \mathbf{E}_{pmi}
      [\textrm{pmi}_{i,j} + 1]` (rounded-up PMI, :math:`-1 \ldots`
      :obj:`max_pmi`),

    turns it into one attention score per pair, normalised over the pairs of
    row :math:`i`, and averages the transformed word features:

    .. math::
        a^l_{i,j} = \textrm{softmax}_{j} \left( \textrm{ReLU}(
        \mathbf{w}_l^{\top} \mathbf{r}^l_{i,j} + b_l) \right)

        \mathbf{s}^l_i = \sum_{j} a^l_{i,j} \, \mathbf{W}_l \mathbf{h}_j

        \mathbf{s}_i = \textrm{MLP}\left( [\mathbf{s}^{pos}_i ;
        \mathbf{s}^{dist}_i ; \mathbf{s}^{pmi}_i] \right)

    where :math:`j` runs over the pairs :math:`(i, j)` of
    :obj:`pair_index` (every ordered word pair of a sample, :math:`(i, i)`
    included). The MLP is :math:`\textrm{Linear}(L d, d) \to \textrm{ReLU}
    \to \textrm{Dropout} \to \textrm{Linear}(d, d)` for :math:`L` channels.

    Two exact rewrites keep memory at :math:`O(|\mathcal{P}| \, d)`: the score
    :math:`\mathbf{w}_l^{\top} \mathbf{E}[\cdot]` is computed once per
    embedding row rather than per pair, and :math:`\mathbf{W}_l` is applied
    after the aggregation (valid because :math:`\sum_j a^l_{i,j} = 1`). A word
    without any pair gets :math:`\mathbf{s}^l_i = \mathbf{b}_{\mathbf{W}_l}`.

    As in the paper, the ReLU comes before the softmax: a pair whose score is
    clipped to zero passes no gradient to its embedding row, and a row of
    pairs that are all clipped attends uniformly.

    Args:
        channels (int): Size of each word feature :math:`d`.
        num_pos (int): Number of part-of-speech ids.
        max_distance (int): Largest syntactic distance; values lie in
            :obj:`[0, max_distance]`.
        max_pmi (int): Largest PMI value; values lie in
            :obj:`[-1, max_pmi]`.
        channel_dim (int, optional): Size of the channel embeddings
            :math:`d_l`. (default: :obj:`100`)
        dropout (float, optional): Dropout probability inside the MLP.
            (default: :obj:`0.1`)
        channels_used (Sequence[str], optional): The channels to use, a
            non-empty subset of :obj:`('pos', 'distance', 'pmi')`; the output
            concatenates them in that canonical order.
            (default: :obj:`('pos', 'distance', 'pmi')`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:**
          word features :math:`(|\mathcal{V}|, d)`,
          word pairs :math:`(2, |\mathcal{P}|)` (row 0 is :math:`i`),
          part-of-speech ids :math:`(|\mathcal{V}|)`,
          distances :math:`(|\mathcal{P}|)`,
          PMI values :math:`(|\mathcal{P}|)`
        - **output:** word features :math:`(|\mathcal{V}|, d)`
    """
    def __init__(
        self,
        channels: int,
        num_pos: int,
        max_distance: int,
        max_pmi: int,
        channel_dim: int = 100,
        dropout: float = 0.1,
        channels_used: Sequence[str] = CHANNELS,
        **kwargs,
    ):
        kwargs.setdefault('aggr', 'add')
        kwargs.setdefault('node_dim', 0)
        kwargs.setdefault('flow', 'target_to_source')
        super().__init__(**kwargs)

        channels_used = tuple(channels_used)
        unknown = [name for name in channels_used if name not in CHANNELS]
        if (unknown or not channels_used
                or len(set(channels_used)) != len(channels_used)):
            raise ValueError(f"'channels_used' must be a non-empty subset of "
                             f"{CHANNELS} without repeats "
                             f"(got {channels_used})")

        self.channels = channels
        self.num_pos = num_pos
        self.max_distance = max_distance
        self.max_pmi = max_pmi
        self.channel_dim = channel_dim
        self.dropout = dropout
        self.channels_used = tuple(name for name in CHANNELS
                                   if name in channels_used)

        num_embeddings = {
            'pos': num_pos,
            'distance': max_distance + 1,
            'pmi': max_pmi + 2,
        }
        self.embedding = ModuleDict({
            name: Embedding(num_embeddings[name], channel_dim)
            for name in self.channels_used
        })
        self.lin_score = ModuleDict({
            name: Linear(channel_dim, 1)
            for name in self.channels_used
        })
        self.lin_channel = ModuleDict({
            name: Linear(channels, channels)
            for name in self.channels_used
        })
        self.mlp = Sequential(
            Linear(len(self.channels_used) * channels, channels),
            ReLU(),
            Dropout(dropout),
            Linear(channels, channels),
        )

        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        for name in self.channels_used:
            self.embedding[name].reset_parameters()
            self.lin_score[name].reset_parameters()
            self.lin_channel[name].reset_parameters()
        self.mlp[0].reset_parameters()
        self.mlp[3].reset_parameters()

    def forward(
        self,
        x: Tensor,
        pair_index: Tensor,
        pos: OptTensor = None,
        distance: OptTensor = None,
        pmi: OptTensor = None,
    ) -> Tensor:
        r"""Runs the forward pass of the module.

        Args:
            x (torch.Tensor): The word features :math:`(N, d)`.
            pair_index (torch.Tensor): The word pairs :math:`(2, P)`; word
                :obj:`pair_index[0, p]` aggregates over
                :obj:`pair_index[1, p]`.
            pos (torch.Tensor, optional): The part-of-speech id of each word
                :math:`(N)`; required by the :obj:`'pos'` channel.
            distance (torch.Tensor, optional): The syntactic distance of each
                pair :math:`(P)`; required by the :obj:`'distance'` channel.
            pmi (torch.Tensor, optional): The PMI value of each pair
                :math:`(P)`; required by the :obj:`'pmi'` channel.
        """
        inputs = {'pos': pos, 'distance': distance, 'pmi': pmi}
        for name in self.channels_used:
            if inputs[name] is None:
                raise ValueError(f"The '{name}' channel is used, so "
                                 f"'{name}' must be given")

        num_nodes = x.size(0)
        scores = self._pair_scores(pair_index, inputs)
        alpha = torch.stack([
            softmax(score, pair_index[0], num_nodes=num_nodes)
            for score in scores
        ], dim=-1)

        out = self.propagate(pair_index, x=x, alpha=alpha,
                             size=(num_nodes, num_nodes))
        out = torch.cat([
            self.lin_channel[name](out[:, k])
            for k, name in enumerate(self.channels_used)
        ], dim=-1)
        return self.mlp(out)

    def _pair_scores(self, pair_index: Tensor,
                     inputs: Dict[str, OptTensor]) -> Tuple[Tensor, ...]:
        r"""One :math:`\textrm{ReLU}(\mathbf{w}_l^{\top} \mathbf{r}^l_{i,j} +
        b_l)` per used channel, each of shape :math:`(P)`."""
        scores = []
        for name in self.channels_used:
            lin = self.lin_score[name]
            # w_l . E[v] for every embedding row v: [num_embeddings].
            table = (self.embedding[name].weight @ lin.weight.t()).squeeze(-1)
            value = inputs[name]
            if name == 'pos':
                word_score = table[value]
                score = word_score[pair_index[0]] + word_score[pair_index[1]]
            elif name == 'distance':
                score = table[value]
            else:
                score = table[value + 1]
            scores.append(torch.relu(score + lin.bias))
        return tuple(scores)

    def message(self, x_j: Tensor, alpha: Tensor) -> Tensor:
        return alpha.unsqueeze(-1) * x_j.unsqueeze(1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.channels}, '
                f'channels_used={self.channels_used})')
