"""Sharing saved models through the Hugging Face Hub: find a checkpoint
folder from a local path or a repository id, and upload one."""
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

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
        FileNotFoundError: ``name_or_path`` is neither a folder nor a valid
            repository id.
        OSError: the repository is not cached and the Hub cannot be reached
            (offline mode, ``local_files_only`` or no network).
    """
    path = Path(name_or_path)
    if path.is_dir():
        return path
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
        if local_files_only:
            reason = "local_files_only=True was passed"
        elif constants.HF_HUB_OFFLINE:
            reason = "HF_HUB_OFFLINE is set"
        else:
            reason = "the Hub could not be reached (no network?)"
        raise OSError(
            f"cannot load {repo_id!r}"
            + (f" at revision {revision!r}" if revision else "")
            + f": it is no local folder, and as a Hub repository it is not "
            f"in the Hugging Face cache and {reason}. Connect and retry, or "
            f"download the repository elsewhere and pass its local folder: "
            f"EEGA.from_pretrained('path/to/folder')") from error


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
    """
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder, training=training, metrics=metrics,
                              license=license, repo_id=repo_id)
        return api.upload_folder(repo_id=repo_id, folder_path=folder,
                                 commit_message=commit_message,
                                 revision=revision, create_pr=create_pr)
