"""Output files that never lose data: checked before the work, written
atomically, never over an input or, unless asked, over an existing file."""
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

import torch

PathLike = Union[str, os.PathLike]


def check_output(output: PathLike, inputs: Iterable[Optional[PathLike]], *,
                 overwrite: bool = False, flag: str = "--output") -> Path:
    """Check, before any work, that ``output`` can be written.

    Args:
        output: the file to write.
        inputs: the files (or folders, e.g. a checkpoint) the work reads;
            ``None`` entries are ignored. ``output`` may be none of them nor
            lie inside a folder among them.
        overwrite: allow replacing an existing ``output``.
        flag: the option named in messages.

    Returns:
        ``output`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: ``output`` is an input, lies in an input folder, is a
            folder, exists without ``overwrite``, its folder is missing or
            not writable, or it or an input passes through a symbolic link
            loop.
    """
    path = Path(output)
    resolved = _resolve(path, flag)
    for source in inputs:
        if source is None:
            continue
        source = _resolve(Path(source), "the input")
        if resolved == source or (path.exists() and source.exists()
                                  and os.path.samefile(path, source)):
            raise ValueError(f"{flag} {path} is the input {source}; write the "
                             f"output elsewhere")
        if source in resolved.parents:
            raise ValueError(f"{flag} {path} lies inside the input folder "
                             f"{source}; write the output elsewhere")
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a folder; give a file name")
    if path.exists() and not overwrite:
        raise ValueError(f"{flag} {path} exists; pass overwrite=True to "
                         f"replace it")
    folder = resolved.parent
    if not folder.is_dir():
        raise ValueError(f"{flag} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: the folder {folder} is not "
                         f"writable")
    return path


def _resolve(path: Path, name: str) -> Path:
    """``path`` made absolute, its symbolic links followed."""
    try:
        return path.resolve()
    except RuntimeError:  # pathlib's "Symlink loop" before Python 3.13
        raise ValueError(f"{name} {path} passes through a symbolic link "
                         f"loop") from None


def replace_atomically(path: PathLike,
                       write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary file in the folder of ``path``, then
    rename that file to ``path``: readers see the old file or the whole new
    one, never a part, and an interruption leaves the old file whole."""
    path = Path(path)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                   suffix=".tmp")
    os.close(handle)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_atomically(path: PathLike, text: Union[str, Iterable[str]]
                     ) -> None:
    """Write ``text`` (a string, or pieces of one written as they come) to
    ``path`` (UTF-8) with :func:`replace_atomically`."""
    pieces = [text] if isinstance(text, str) else text

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as file:
            for piece in pieces:
                file.write(piece)
    replace_atomically(path, write)


def save_atomically(obj: Any, path: PathLike) -> None:
    """``torch.save(obj)`` to ``path`` with :func:`replace_atomically`."""
    replace_atomically(path, lambda tmp: torch.save(obj, tmp))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
