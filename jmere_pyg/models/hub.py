"""Sharing saved models through the Hugging Face Hub: find a checkpoint
folder from a local path or a repository id, and upload one."""
import importlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Tuple, Union

from huggingface_hub import HfApi, constants, snapshot_download
from huggingface_hub.utils import (HFValidationError, LocalEntryNotFoundError,
                                   validate_repo_id)

if TYPE_CHECKING:  # for the annotations only: eega.py imports this module
    from .eega import EEGA

PathLike = Union[str, Path]


def resolve_checkpoint(name_or_path: PathLike, *,
                       revision: Optional[str] = None,
                       cache_dir: Optional[PathLike] = None,
                       local_files_only: bool = False,
                       token: Union[None, bool, str] = None) -> Path:
    """The local folder of a saved model.

    An existing folder is returned as is; anything else must be a Hub
    repository id (``"org/name"``), fetched with
    :func:`huggingface_hub.snapshot_download` into the Hugging Face cache
    (or read from it when offline).

    Args:
        name_or_path (str or Path): a folder written by
            :meth:`EEGA.save_pretrained`, or a Hub repository id.
        revision (str, optional): branch, tag or commit of the repository.
            (default: ``None``, the main branch)
        cache_dir (str or Path, optional): the Hugging Face cache to use.
            (default: ``None``, the standard one)
        local_files_only (bool): never use the network, only the cache.
            (default: ``False``)
        token (str or bool, optional): Hub token for private repositories.
            (default: ``None``)

    Raises:
        FileNotFoundError: ``name_or_path`` is a file, a symbolic link to
            nothing (a loop), or neither a folder nor a valid repository id;
            or a repository id that is not cached while the Hub cannot be
            reached (offline mode, ``local_files_only`` or no network).
    """
    path = Path(name_or_path)
    if path.is_dir():
        return path
    if path.is_symlink() and not path.exists():
        raise FileNotFoundError(f"{path} is a symbolic link that leads to no "
                                f"folder (a loop, or its target is missing)")
    if path.exists():
        raise FileNotFoundError(f"{path} is a file, not a checkpoint folder")
    repo_id = str(name_or_path)
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise FileNotFoundError(
            f"{repo_id} is neither a folder nor a Hugging Face Hub "
            f"repository id ('org/name')") from error
    try:
        return Path(snapshot_download(
            repo_id, revision=revision, cache_dir=cache_dir,
            local_files_only=local_files_only, token=token,
            library_name="jmere_pyg"))
    except LocalEntryNotFoundError as error:
        raise FileNotFoundError(
            f"cannot load {repo_id!r}"
            + (f" at revision {revision!r}" if revision else "")
            + f": no such folder exists, and as a Hub repository it is not "
            f"in the Hugging Face cache and {_why_offline(local_files_only)}."
            f" Check the folder's name; for a Hub repository connect and "
            f"retry, or download it elsewhere and pass its local folder"
        ) from error


def _why_offline(local_files_only: bool) -> str:
    """Why the Hub was not asked: the reason as the end of a sentence."""
    if local_files_only:
        return "local_files_only=True was passed"
    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    return "the Hub could not be reached (no network?)"


def push_to_hub(model: "EEGA", repo_id: str, *,
                commit_message: str = "Upload EEGA model",
                private: Optional[bool] = None,
                token: Optional[str] = None,
                revision: Optional[str] = None,
                create_pr: bool = False,
                training: Optional[Mapping[str, Any]] = None,
                metrics: Optional[Mapping[str, Any]] = None,
                license: Optional[str] = None) -> Any:
    """Saves ``model`` to a temporary folder with
    :meth:`EEGA.save_pretrained` (model card included) and uploads it with
    :meth:`huggingface_hub.HfApi.upload_folder`, creating the repository if
    needed.

    Args:
        model (EEGA): the model.
        repo_id (str): ``"org/name"`` on the Hub.
        commit_message (str): message of the upload's commit.
            (default: ``"Upload EEGA model"``)
        private (bool, optional): visibility of a newly created repository.
            (default: ``None``, the Hub's default)
        token (str, optional): Hub token. (default: ``None``, the saved one)
        revision (str, optional): branch to upload to. (default: ``None``)
        create_pr (bool): open a pull request instead of committing.
            (default: ``False``)
        training, metrics, license: passed to
            :func:`jmere_pyg.models.model_card.write_model_card`.

    Returns:
        The :class:`huggingface_hub.CommitInfo` of the upload.

    Raises:
        ConnectionError: the Hub cannot be reached (``HF_HUB_OFFLINE`` is
            set, or no network), naming the repository and the reason.
    """
    if constants.HF_HUB_OFFLINE:
        raise ConnectionError(_no_upload(repo_id))
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            model.save_pretrained(folder, training=training, metrics=metrics,
                                  license=license, repo_id=repo_id)
            return api.upload_folder(repo_id=repo_id, folder_path=folder,
                                     commit_message=commit_message,
                                     revision=revision, create_pr=create_pr)
    except _connection_errors() as error:
        raise ConnectionError(_no_upload(repo_id)) from error


def _no_upload(repo_id: str) -> str:
    """Why an upload to ``repo_id`` failed, and what to do."""
    return (f"cannot upload to the Hub repository {repo_id!r}: "
            f"{_why_offline(False)}; connect and retry, or save the model "
            f"with save_pretrained and upload that folder later")


def _connection_errors() -> Tuple[type, ...]:
    """What a Hub that cannot be reached raises: the built-in connection
    errors (``OfflineModeIsEnabled`` is one) and the transport errors of the
    HTTP library that this huggingface_hub uses (requests before 1.0, httpx
    or httpx2 since), which do not derive from them."""
    errors = [ConnectionError, TimeoutError]
    for module, name in (("requests", "ConnectionError"),
                         ("requests", "Timeout"), ("httpx", "TransportError"),
                         ("httpx2", "TransportError")):
        try:
            errors.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            pass
    return tuple(errors)
