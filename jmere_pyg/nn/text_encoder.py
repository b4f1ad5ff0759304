"""Word vectors from any Hugging Face encoder, pooled over sub-words."""
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

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
                 pretrained: bool = True):
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

        words = [list(tokens[b]) for b in kept]
        encoding = self.tokenizer(words, is_split_into_words=True,
                                  truncation=True, max_length=self.max_length,
                                  padding=True, return_tensors='pt')
        word_ids = torch.tensor([[
            -1 if w is None else w for w in encoding.word_ids(row)
        ] for row in range(len(words))], dtype=torch.long)
        truncated_samples, truncated_words = self._count_truncation(
            words, encoding, word_ids)

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

    def _count_truncation(self, words: List[List[str]], encoding,
                          word_ids: Tensor) -> Tuple[int, int]:
        r"""Counts the truncated samples and the words they lost entirely.

        Only a sample that fills the limit can have been cut; those are
        tokenised again without truncation to see which words had
        sub-words."""
        full_rows = (encoding['attention_mask'].sum(1) >= self.max_length)
        candidates = full_rows.nonzero().view(-1).tolist()
        if not candidates:
            return 0, 0
        untruncated = self.tokenizer([words[row] for row in candidates],
                                     is_split_into_words=True,
                                     truncation=False, verbose=False)
        truncated_samples = truncated_words = 0
        for k, row in enumerate(candidates):
            if len(untruncated['input_ids'][k]) <= self.max_length:
                continue
            truncated_samples += 1
            had = {w for w in untruncated.word_ids(k) if w is not None}
            has = set(word_ids[row][word_ids[row] >= 0].tolist())
            truncated_words += len(had - has)
        return truncated_samples, truncated_words

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}('{self.name_or_path}', "
                f"hidden_size={self.hidden_size}, "
                f"max_length={self.max_length})")
