"""Reading ``torch.save`` files that a user may receive (resume states,
processed datasets, object features) without running anything in them."""
import os
import pickle
from typing import Any, Union

import torch

PathLike = Union[str, os.PathLike]


def load_plain(path: PathLike, what: str, *, hint: str = "",
               map_location: Union[str, torch.device] = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain values
    only; a file that needs the full unpickler (which could run code) is
    refused, never read.

    Args:
        path (str): The file.
        what (str): What the file is, for messages, e.g. ``"resume state"``.
        hint (str, optional): How to proceed, appended to messages, e.g.
            ``"; pass force_reload=True to build it again"``.
        map_location (optional): As in :func:`torch.load`.

    Raises:
        ValueError: naming ``path``, when it holds anything but tensors and
            plain values, or is damaged.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f"{path}: refused, it holds more than tensors and plain values "
            f"(a {what} is never unpickled){hint}: "
            f"{str(error).splitlines()[0]}") from None
    except (RuntimeError, EOFError) as error:
        raise ValueError(f"{path}: not a readable {what} "
                         f"({str(error).splitlines()[0]}){hint}") from None
