"""Word vectors from any Hugging Face encoder, pooled over sub-words."""
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor
from transformers import AutoConfig, AutoModel, AutoTokenizer

from torch_geometric.utils import scatter


@dataclass
class WordEncoderInfo:
    r"""What :class:`WordEncoder` did to one batch.

    Attributes:
        num_subwords (torch.Tensor): Sub-words pooled into each word
            :math:`(\sum_b n_b)`; :obj:`0` marks a word that got the fallback
            vector.
        empty_words (int): Words the tokenizer maps to no sub-word at all
            (e.g. some emoji or control characters in an uncased vocabulary).
        truncated_words (int): Words that lost all their sub-words to
            truncation.
        truncated_samples (int): Samples longer than the encoder's limit.
    """
    num_subwords: Tensor
    empty_words: int
    truncated_words: int
    truncated_samples: int


@dataclass(frozen=True)
class _Tokenized:
    """The tokenizer's output for one sample, kept by the encoder's cache:
    the model inputs without padding (``input_ids`` and, for tokenizers that
    have them, ``token_type_ids``), the word of each sub-word (``-1`` for
    special tokens), and what truncation cost the sample."""
    inputs: Dict[str, Tuple[int, ...]]
    word_ids: Tuple[int, ...]
    truncated: bool
    truncated_words: int


class WordEncoder(torch.nn.Module):
    r"""Encodes pre-split words with a Hugging Face encoder (BERT in EEGA,
    eq. 1) and pools its sub-word vectors back to one vector per word.

    .. math::
        \mathbf{x}_i = \frac{1}{|\mathcal{S}(i)|} \sum_{t \in \mathcal{S}(i)}
        \mathbf{h}_t \quad \textrm{if } \mathcal{S}(i) \neq \emptyset,
        \qquad \mathbf{x}_i = \mathbf{h}_{\textrm{[CLS]}} \quad
        \textrm{otherwise}

    where :math:`\mathcal{S}(i)` are the sub-word positions of word :math:`i`
    (from :meth:`BatchEncoding.word_ids` with
    :obj:`is_split_into_words=True`) and :math:`\mathbf{h}_t` the last hidden
    states.

    **Pooling: mean.** Tweets split URLs, hashtags and user names into many
    pieces whose first piece (:obj:`"http"`, :obj:`"#"`, :obj:`"@"`) says
    little about the word; the mean uses all of them.

    **Fallback: the sequence's [CLS] vector.** A word with no sub-word (the
    tokenizer drops it, or truncation cut it) gets the hidden state of the
    special token the tokenizer puts first (:obj:`[CLS]`, :obj:`<s>`), a
    contextual summary of the sentence on the same scale as the other word
    vectors, with no extra parameter to train (it works with a frozen
    encoder). Tokenizers that put no special token first use the mean of the
    sequence's hidden states instead.

    **Truncation.** A sample longer than the limit (:obj:`max_subwords`, the
    tokenizer's :obj:`model_max_length` and the model's
    :obj:`max_position_embeddings`, whichever is smallest; special tokens
    included) is cut by the tokenizer; one :obj:`warnings.warn` per call
    reports it. Words that lose all sub-words get the fallback vector; a word
    cut in the middle keeps the mean of its surviving sub-words. The returned
    :class:`WordEncoderInfo` counts the truncated samples and words.

    Samples with no words are allowed and contribute no rows. The inputs are
    moved to the device of the encoder.

    **Tokenisation once.** Each sample is tokenised the first time it is
    seen; its sub-word ids are kept in an LRU cache keyed by the tuple of
    its words (at most :obj:`cache_size` samples, a few hundred bytes
    each), so that later epochs only pad and stack them. The padded batch is
    the one the tokenizer's own batch call returns.

    Args:
        name_or_path (str): Model name or local folder of a Hugging Face
            encoder with a fast tokenizer (loaded with :obj:`AutoModel` and
            :obj:`AutoTokenizer`).
        max_subwords (int, optional): Most sub-words per sample, special
            tokens included. (default: :obj:`512`)
        pretrained (bool, optional): load the pretrained weights; with
            :obj:`False` only the architecture is built (randomly
            initialised), for a checkpoint that brings its own weights.
            (default: :obj:`True`)

    Shapes:
        - **input:** a list of :math:`B` samples, each a list of
          :math:`n_b` words (:obj:`str`)
        - **output:** word features :math:`(\sum_b n_b, d_T)` in batch order
          (the order of PyG's concatenated word nodes) and a
          :class:`WordEncoderInfo`
    """
    def __init__(self, name_or_path: str, max_subwords: int = 512,
                 pretrained: bool = True, cache_size: int = 100_000):
        super().__init__()
        self.name_or_path = str(name_or_path)
        self.tokenizer = AutoTokenizer.from_pretrained(self.name_or_path)
        if not self.tokenizer.is_fast:
            raise ValueError(f"'{self.name_or_path}' has no fast tokenizer, "
                             f"which word pooling needs (word_ids)")
        if pretrained:
            self.model = AutoModel.from_pretrained(self.name_or_path)
        else:
            self.model = AutoModel.from_config(
                AutoConfig.from_pretrained(self.name_or_path))

        limits = [max_subwords]
        if self.tokenizer.model_max_length < 1_000_000:
            limits.append(self.tokenizer.model_max_length)
        max_positions = getattr(self.model.config, 'max_position_embeddings',
                                None)
        if max_positions is not None:
            limits.append(max_positions)
        self.max_subwords = max_subwords
        self.max_length = min(limits)
        num_special = self.tokenizer.num_special_tokens_to_add(pair=False)
        if self.max_length <= num_special:
            raise ValueError(f"'max_subwords' must exceed the {num_special} "
                             f"special tokens (got a limit of "
                             f"{self.max_length})")
        probe = self.tokenizer(['a'], is_split_into_words=True)
        self.first_token_is_special = probe.word_ids(0)[0] is None
        self._pad_values = {'input_ids': self.tokenizer.pad_token_id,
                            'token_type_ids':
                            self.tokenizer.pad_token_type_id}
        unknown = set(probe) - set(self._pad_values) - {'attention_mask'}
        if unknown or self.tokenizer.pad_token_id is None:
            raise ValueError(f"'{self.name_or_path}': cannot pad the "
                             f"tokenizer's {sorted(unknown) or 'input_ids'} "
                             f"(no padding value known)")
        self.cache_size = cache_size
        self._cache: 'OrderedDict[Tuple[str, ...], _Tokenized]' = \
            OrderedDict()
        self._check_vocabulary()

    def _check_vocabulary(self) -> None:
        r"""Fail when the tokenizer does not fit the encoder's embedding
        table: more tokens than embeddings would index out of range, and
        fewer than half of them means a missing or foreign tokenizer (e.g.
        only the special tokens, every word [UNK]); padding an embedding
        table to a round size adds far fewer rows than that."""
        embeddings = getattr(self.model.config, 'vocab_size', None)
        tokens = len(self.tokenizer)
        if embeddings is None or embeddings // 2 <= tokens <= embeddings:
            return
        raise ValueError(
            f"'{self.name_or_path}': the tokenizer has {tokens} tokens but "
            f"the encoder has {embeddings} embeddings (config vocab_size): "
            f"the tokenizer files are missing or belong to another model")

    def freeze(self, depth: int) -> None:
        r"""Keep the bottom :obj:`depth` layers at their pretrained
        weights, counted as Hugging Face counts hidden states: the
        embeddings are layer 0, so :obj:`1` freezes the embeddings alone and
        :obj:`3` the embeddings and the first two transformer layers. Their
        weights get no gradient and no optimiser state, and backward stops
        below the lowest trained layer. :obj:`0` trains everything.

        Raises:
            ValueError: when :obj:`depth` is negative or exceeds the
                encoder's layers plus its embeddings, or the model keeps its
                layers where this method does not look (:obj:`embeddings`;
                :obj:`encoder.layer`, :obj:`transformer.layer` or
                :obj:`layers`).
        """
        if depth == 0:
            return
        layers = self._layers()
        if not 0 <= depth <= len(layers) + 1:
            raise ValueError(f"'{self.name_or_path}' has embeddings and "
                             f"{len(layers)} layers: cannot freeze "
                             f"{depth}")
        for module in [self.model.embeddings, *layers][:depth]:
            module.requires_grad_(False)

    def _layers(self) -> torch.nn.ModuleList:
        """The transformer layers of the model, bottom first."""
        for path in ('encoder.layer', 'transformer.layer', 'layers'):
            try:
                layers = self.model.get_submodule(path)
            except AttributeError:
                continue
            if (isinstance(layers, torch.nn.ModuleList)
                    and hasattr(self.model, 'embeddings')):
                return layers
        raise ValueError(f"'{self.name_or_path}' "
                         f"({self.model.config.model_type}): cannot find "
                         f"its embeddings and transformer layers to freeze")

    def save_architecture(self, directory) -> None:
        r"""Writes the encoder's config and tokenizer (not its weights) to
        :obj:`directory`, so that :meth:`from_architecture` rebuilds it."""
        self.model.config.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)

    @classmethod
    def from_architecture(cls, directory,
                          max_subwords: int = 512) -> 'WordEncoder':
        r"""An encoder of the architecture saved by :meth:`save_architecture`,
        with random weights to be replaced by a checkpoint's.

        Raises:
            FileNotFoundError: naming :obj:`directory` when its
                :obj:`config.json` or :obj:`tokenizer.json` is missing.
            ValueError: naming :obj:`directory` when they cannot be read or
                do not fit each other.
        """
        directory = Path(directory)
        for name in ('config.json', 'tokenizer.json'):
            if not (directory / name).is_file():
                raise FileNotFoundError(
                    f"{directory} holds no {name}: the encoder's config and "
                    f"tokenizer are saved there with the checkpoint")
        try:
            return cls(directory, max_subwords=max_subwords,
                       pretrained=False)
        except (OSError, ValueError) as error:
            detail = str(error).strip().splitlines()[0]
            if str(directory) in detail:
                raise ValueError(detail) from None
            raise ValueError(f"{directory}: cannot rebuild the encoder "
                             f"({detail})") from None

    @property
    def hidden_size(self) -> int:
        r"""The size :math:`d_T` of the word vectors."""
        return self.model.config.hidden_size

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def reset_parameters(self):
        r"""Reloads the pretrained weights from :obj:`name_or_path`."""
        pretrained = AutoModel.from_pretrained(self.name_or_path)
        self.model.load_state_dict(pretrained.state_dict())

    def forward(self, tokens: Sequence[Sequence[str]],
                ) -> Tuple[Tensor, WordEncoderInfo]:
        r"""Runs the forward pass of the module.

        Args:
            tokens (Sequence[Sequence[str]]): The words of each sample.
        """
        num_words = [len(words) for words in tokens]
        total = sum(num_words)
        kept = [b for b, n in enumerate(num_words) if n > 0]
        if not kept:
            x = torch.zeros(0, self.hidden_size, device=self.device,
                            dtype=self.model.dtype)
            return x, WordEncoderInfo(
                torch.zeros(0, dtype=torch.long, device=self.device), 0, 0, 0)

        words = [tuple(tokens[b]) for b in kept]
        tokenized = self._tokenize(words)
        encoding, word_ids = self._pad(tokenized)
        truncated_samples = sum(t.truncated for t in tokenized)
        truncated_words = sum(t.truncated_words for t in tokenized)

        # Every index is built on the host, from the tokenizer's output, and
        # copied over: nothing below reads a device value back (no sync).
        word_ptr = torch.tensor(num_words).cumsum(0) - torch.tensor(num_words)
        is_word = word_ids >= 0
        index = (word_ids + word_ptr[kept].unsqueeze(1))[is_word]
        subword_position = is_word.view(-1).nonzero().view(-1)
        num_subwords = torch.bincount(index, minlength=total)
        empty_words = int((num_subwords == 0).sum()) - truncated_words
        sample = torch.repeat_interleave(
            torch.arange(len(kept)),
            torch.tensor([num_words[b] for b in kept]))
        index, subword_position, num_subwords, sample = (
            t.to(self.device, non_blocking=True)
            for t in (index, subword_position, num_subwords, sample))

        inputs = {key: value.to(self.device)
                  for key, value in encoding.items()}
        hidden = self.model(**inputs).last_hidden_state
        subwords = hidden.reshape(-1, hidden.size(-1)).index_select(
            0, subword_position)
        pooled = scatter(subwords, index, dim=0, dim_size=total,
                         reduce='mean')

        if self.first_token_is_special:
            sequence = hidden[:, 0]
        else:
            mask = inputs['attention_mask'].unsqueeze(-1).to(hidden.dtype)
            sequence = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        x = torch.where((num_subwords > 0).unsqueeze(-1), pooled,
                        sequence[sample])

        if truncated_samples > 0:
            warnings.warn(
                f"{truncated_samples} of {len(tokens)} samples exceed "
                f"{self.max_length} sub-words and were truncated; "
                f"{truncated_words} words lost all sub-words and got the "
                f"fallback vector")
        return x, WordEncoderInfo(num_subwords, empty_words, truncated_words,
                                  truncated_samples)

    def subword_lengths(self, tokens: Sequence[Sequence[str]]) -> List[int]:
        r"""The sub-words (special tokens included, after truncation) the
        encoder runs for each sample: the length a batch is padded to.
        Samples with no words count :obj:`0`."""
        nonempty = [tuple(words) for words in tokens if len(words) > 0]
        lengths = iter(len(t.word_ids) for t in self._tokenize(nonempty))
        return [next(lengths) if len(words) > 0 else 0 for words in tokens]

    def _tokenize(self, words: List[Tuple[str, ...]]) -> List[_Tokenized]:
        r"""The cached tokenisation of each sample; the samples not cached
        yet are tokenised in one call of the tokenizer."""
        missing = list(dict.fromkeys(w for w in words if w not in self._cache))
        if missing:
            encoding = self.tokenizer([list(w) for w in missing],
                                      is_split_into_words=True,
                                      truncation=True,
                                      max_length=self.max_length)
            lost = self._lost_words(missing, encoding)
            for row, key in enumerate(missing):
                self._cache[key] = _Tokenized(
                    inputs={name: tuple(encoding[name][row])
                            for name in self._pad_values if name in encoding},
                    word_ids=tuple(-1 if w is None else w
                                   for w in encoding.word_ids(row)),
                    truncated=row in lost, truncated_words=lost.get(row, 0))
        found = []
        for key in words:
            self._cache.move_to_end(key)
            found.append(self._cache[key])
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return found

    def _lost_words(self, words: List[Tuple[str, ...]],
                    encoding) -> Dict[int, int]:
        r"""``row -> words that lost all their sub-words`` for the samples
        that truncation cut.

        Only a sample that fills the limit can have been cut; those are
        tokenised again without truncation to see which words had
        sub-words."""
        candidates = [row for row, ids in enumerate(encoding['input_ids'])
                      if len(ids) >= self.max_length]
        if not candidates:
            return {}
        untruncated = self.tokenizer([list(words[row]) for row in candidates],
                                     is_split_into_words=True,
                                     truncation=False, verbose=False)
        lost = {}
        for k, row in enumerate(candidates):
            if len(untruncated['input_ids'][k]) <= self.max_length:
                continue
            had = {w for w in untruncated.word_ids(k) if w is not None}
            has = {w for w in encoding.word_ids(row) if w is not None}
            lost[row] = len(had - has)
        return lost

    def _pad(self, tokenized: List[_Tokenized]
             ) -> Tuple[Dict[str, Tensor], Tensor]:
        r"""The padded model inputs of a batch, as the tokenizer's batch call
        with :obj:`padding=True` makes them, and the word of each sub-word
        :math:`(B, L)` (:obj:`-1` for special tokens and padding)."""
        length = max(len(t.word_ids) for t in tokenized)
        left = self.tokenizer.padding_side == 'left'

        def padded(values: Sequence[int], fill: int) -> List[int]:
            pad = [fill] * (length - len(values))
            return pad + list(values) if left else list(values) + pad

        encoding = {name: torch.tensor([padded(t.inputs[name], fill)
                                        for t in tokenized], dtype=torch.long)
                    for name, fill in self._pad_values.items()
                    if name in tokenized[0].inputs}
        encoding['attention_mask'] = torch.tensor(
            [padded([1] * len(t.word_ids), 0) for t in tokenized],
            dtype=torch.long)
        word_ids = torch.tensor([padded(t.word_ids, -1) for t in tokenized],
                                dtype=torch.long)
        return encoding, word_ids

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}('{self.name_or_path}', "
                f"hidden_size={self.hidden_size}, "
                f"max_length={self.max_length})")
