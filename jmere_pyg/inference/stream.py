"""Runs over a corpus: input read in chunks, output written as it goes,
resumable, sharded across the processes of ``torchrun``.

A :class:`ChunkJob` says what a run does (``predict``: posts to quintuples,
``scene-graphs``: images to scene graphs); :func:`run_chunks` does the rest
the same way for both:

* **Chunks.** The input's records (non-blank lines of a posts file, image
  files) are cut into chunks of ``chunk_size`` records, in input order. A
  chunk is read, worked and written whole, and it is worked the same
  whatever comes before it, so that the output of a chunk does not depend
  on how the run is split or interrupted.
* **Output as it goes.** Each chunk's JSON lines are appended to
  ``OUTPUT.partial`` and flushed to disk; then the small state file
  ``OUTPUT.partial.state.json`` records the chunk (its line count, the
  partial file's size, the run's counts). At the end the partial file
  becomes ``OUTPUT`` in one rename: ``OUTPUT`` is never seen half written.
* **Resume.** With ``resume`` a run continues an interrupted one: the state
  must record the same run (the same input: a posts file's path, size and
  digest of its first MiB, or the images' names; the same options and
  chunk size); a torn last line is cut off (the file goes back to the size
  of the last recorded chunk); every recorded line is checked against the
  input record it came from (a post's words, an image's name); the
  recorded chunks are then skipped. No record is written twice or lost.
  Without ``resume`` a partial output is refused, as an existing output is,
  unless ``overwrite``.
* **Shards.** Under ``torchrun`` (``WORLD_SIZE`` > 1) process ``r`` of
  ``W`` takes the chunks ``r, r + W, r + 2W, ...`` and writes
  ``OUTPUT.partial-r-of-W`` (and its state); every process numbers all the
  records but reads only its own chunks. When all are done (a barrier of a
  ``gloo`` process group: the processes exchange no tensors, so it serves
  GPU runs too), process 0 joins the parts chunk by chunk into ``OUTPUT``
  and deletes them: the output is byte for byte that of one process. Over
  several machines the output folder must be one they share. When a
  process fails, ``torchrun`` stops the others; their parts stay for a
  resume with as many processes.
"""
import hashlib
import itertools
import json
import os
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import (IO, Any, Callable, Dict, Iterable, Iterator, List,
                    Optional, Sequence, Tuple)

from tqdm.auto import tqdm

from ..data.errors import ReadReport
from ..output_files import write_atomically
from .timings import Timings, stage

#: Version of the state file's layout.
STATE_VERSION = 1

#: Bytes of the input hashed into its identity.
HEAD_BYTES = 1 << 20

#: How long process 0 waits at the end for the slowest process.
JOIN_TIMEOUT = timedelta(hours=2)

#: Messages a :class:`Tally` keeps in :attr:`Tally.notes` (all are counted).
MAX_NOTES = 100


@dataclass(frozen=True)
class Shard:
    """This process's share of a run: chunks ``rank, rank + world_size,
    ...``."""
    rank: int = 0
    world_size: int = 1

    @classmethod
    def from_environment(cls) -> "Shard":
        """The share ``torchrun`` gives this process (``RANK``,
        ``WORLD_SIZE``); the whole run without it."""
        return cls(int(os.environ.get("RANK", "0")),
                   int(os.environ.get("WORLD_SIZE", "1")))

    def owns(self, chunk: int) -> bool:
        return chunk % self.world_size == self.rank

    @property
    def suffix(self) -> str:
        """Suffix of this process's partial output."""
        return (".partial" if self.world_size == 1 else
                f".partial-{self.rank}-of-{self.world_size}")


@dataclass
class Tally:
    """What a run did, summed over chunks and processes, kept in the state
    file: named counts, the first example of some of them, the first
    :data:`MAX_NOTES` messages, and the read report of the input."""
    counts: Counter = field(default_factory=Counter)
    examples: Dict[str, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    read: Optional[ReadReport] = None

    def add(self, other: "Tally") -> None:
        self.counts.update(other.counts)
        for name, example in other.examples.items():
            self.examples.setdefault(name, example)
        self.notes = (self.notes + other.notes)[:MAX_NOTES]
        if other.read is not None:
            if self.read is None:
                self.read = ReadReport(path=other.read.path)
            self.read.add(other.read)

    def note(self, message: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(message)

    def to_dict(self) -> Dict[str, Any]:
        return {"counts": dict(self.counts), "examples": self.examples,
                "notes": self.notes,
                "read": None if self.read is None else self.read.to_dict()}

    @classmethod
    def from_dict(cls, state: Dict[str, Any]) -> "Tally":
        read = state["read"]
        return cls(Counter(state["counts"]), dict(state["examples"]),
                   list(state["notes"]),
                   None if read is None else ReadReport.from_dict(read))


class ChunkJob(ABC):
    """What a run does with its input, a chunk at a time."""

    #: What a record is, for the progress bar and messages.
    unit = "record"

    @abstractmethod
    def records(self) -> Iterable[Any]:
        """Every input record in input order, cheap to give out unread."""

    @abstractmethod
    def read(self, records: List[Any]) -> Tuple[List[Any], Tally]:
        """The items of one chunk's records and the counts of reading
        them (e.g. skipped lines)."""

    @abstractmethod
    def work(self, items: List[Any], tally: Tally) -> List[str]:
        """The output lines of one chunk's items (without newlines),
        counting in ``tally``."""

    @abstractmethod
    def mismatch(self, items: List[Any], lines: List[str]) -> Optional[str]:
        """Why ``lines`` (read back from a partial output) are not the
        output of these items; ``None`` when they are."""

    def pieces(self, lines: Iterable[str]) -> Optional[Iterable[str]]:
        """The text of the final output, piece by piece, from all the
        output lines in order; ``None`` (the default): the lines
        themselves, JSON lines."""
        return None


@dataclass
class RunResult:
    """What :func:`run_chunks` did: the counts and timings of every
    process (process 0's result holds all of them, the others their own)
    and the records it worked (not those of a resumed part)."""
    tally: Tally
    timings: Timings
    worked: int


def input_identity(path: os.PathLike) -> Dict[str, Any]:
    """The resolved path, size and SHA-256 of the first :data:`HEAD_BYTES`
    of the file ``path``: what a resumed run checks it reads again."""
    path = Path(path)
    with open(path, "rb") as file:
        head = hashlib.sha256(file.read(HEAD_BYTES)).hexdigest()
    return {"path": str(path.resolve()), "size": path.stat().st_size,
            "head_sha256": head}


def count_lines(path: os.PathLike) -> int:
    """Lines of the file ``path`` (a last line without newline counts),
    read in blocks: the total of a progress bar."""
    lines, last = 0, b"\n"
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def partial_files(output: os.PathLike) -> List[Path]:
    """The partial outputs and state files of ``output`` left by earlier
    runs, of any number of processes."""
    output = Path(output)
    return sorted(output.parent.glob(f"{_glob_escape(output.name)}.partial*"))


def run_chunks(job: ChunkJob, output: Optional[os.PathLike], *,
               chunk_size: int, run: Dict[str, Any],
               shard: Shard = Shard(), resume: bool = False,
               overwrite: bool = False,
               sink: Optional[Callable[[List[str]], None]] = None,
               total: Optional[int] = None, progress: bool = True,
               timings: Optional[Timings] = None) -> RunResult:
    """Run ``job`` over its records, ``chunk_size`` at a time (module
    docstring).

    Args:
        job: what to do with the records.
        output: the file to write; ``None`` gives each chunk's lines to
            ``sink`` instead (one process, nothing to resume).
        chunk_size: records per chunk; part of what a resume checks.
        run: the input's identity (:func:`input_identity`) and the options
            the output depends on, as JSON values; a resume needs the same.
        shard: this process's share; all chunks by default.
        resume: continue the partial output of an interrupted run (starts
            afresh when there is none).
        overwrite: replace partial outputs of earlier runs.
        sink: receives the lines of each chunk when there is no ``output``.
        total: about how many records the input holds (progress bar).
        progress: show a progress bar (process 0 only).
        timings: receives the seconds spent reading (``reading``) and
            writing (``writing``); the job may add its own stages.

    Raises:
        ValueError: for a partial output without ``resume`` or
            ``overwrite``, or one that does not fit this run.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk size must be >= 1, got {chunk_size}")
    timings = timings if timings is not None else Timings()
    if output is None:
        if shard.world_size > 1:
            raise ValueError("several processes need an output file to "
                             "join their parts into: give output=FILE")
        if resume:
            raise ValueError("a resume continues an output file: give "
                             "output=FILE")
        writer = None
    else:
        writer = _PartWriter(Path(output), shard, {
            "version": STATE_VERSION, "chunk_size": chunk_size, **run})
        writer.open(resume=resume, overwrite=overwrite)
        if shard.world_size > 1:
            _join_process_group()
    tally = Tally() if writer is None else writer.tally
    done_records = 0 if writer is None else writer.records_done
    worked = 0
    share = None if total is None else _share(total, chunk_size, shard)
    with tqdm(total=share, initial=done_records, unit=job.unit,
              desc=job.unit + "s", dynamic_ncols=True,
              disable=not progress or shard.rank != 0) as bar:
        for index, records in enumerate(_chunks(job.records(), chunk_size)):
            if not shard.owns(index):
                continue
            if writer is not None and writer.is_done(index):
                with stage(timings, "reading"):
                    items, _ = job.read(records)
                writer.check_done(index, lambda lines: job.mismatch(
                    items, lines))
                continue
            with stage(timings, "reading"):
                items, chunk_tally = job.read(records)
            lines = job.work(items, chunk_tally)
            tally.add(chunk_tally)
            with stage(timings, "writing"):
                if writer is None:
                    sink(lines)
                else:
                    writer.commit(len(records), lines, tally, timings)
            worked += len(records)
            bar.update(len(records))
    if writer is None:
        return RunResult(tally, timings, worked)
    writer.finish(tally, timings)
    if shard.world_size == 1:
        with stage(timings, "writing"):
            writer.publish(job.pieces)
        return RunResult(tally, timings, worked)
    _barrier()
    if shard.rank == 0:
        tally, timings = _join(Path(output), shard.world_size, job.pieces)
    _leave_process_group()
    return RunResult(tally, timings, worked)


class _PartWriter:
    """One process's partial output and its state file."""

    def __init__(self, output: Path, shard: Shard, run: Dict[str, Any]):
        self.output = output
        self.shard = shard
        self.part = output.with_name(output.name + shard.suffix)
        self.state_file = _state_file(self.part)
        self.run = run
        self.chunk_lines: List[int] = []  # lines of each chunk written
        self.chunk_records: List[int] = []  # records of each
        self.size = 0  # bytes of the part up to its last chunk
        self.tally = Tally()
        self._done_reader: Optional[IO[str]] = None
        self._line = 0  # lines of the part read back so far
        self._file: Optional[IO[bytes]] = None

    @property
    def records_done(self) -> int:
        return sum(self.chunk_records)

    # ------------------------------------------------------------ opening
    def open(self, *, resume: bool, overwrite: bool) -> None:
        """Check the partial outputs there are against the run; keep this
        process's for a resume, or delete them with ``overwrite``."""
        mine = (self.part, self.state_file)
        others = [path for path in partial_files(self.output)
                  if not _is_ours(path, self.output, self.shard)]
        if others and not overwrite:
            raise ValueError(
                f"{others[0]} is left by a run with another number of "
                f"processes; resume with as many, or pass overwrite=True to "
                f"start again")
        if self.shard.rank == 0:
            for path in others:
                path.unlink()
        if overwrite and not resume:
            for path in mine:
                if path.exists():
                    path.unlink()
        elif self.part.exists() or self.state_file.exists():
            if not resume:
                raise ValueError(
                    f"{self.part} holds the output of an interrupted run; "
                    f"pass resume=True to continue it or overwrite=True to "
                    f"start again")
            self._resume()

    def _resume(self) -> None:
        if not self.state_file.exists():  # stopped before its first chunk
            self.part.unlink(missing_ok=True)
            return
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ValueError(f"cannot resume: {self.state_file} is not a "
                             f"state file ({error}); pass overwrite=True to "
                             f"start again") from None
        if state.get("run") != self.run:
            raise ValueError(
                f"cannot resume: {self.part} was written by another run "
                f"({_differences(state.get('run') or {}, self.run)}); "
                f"pass overwrite=True to start again")
        size = self.part.stat().st_size if self.part.exists() else -1
        if size < state["size"]:
            raise ValueError(
                f"cannot resume: {self.part} is shorter than its state "
                f"file records ({max(size, 0)} < {state['size']} bytes); "
                f"pass overwrite=True to start again")
        if size > state["size"]:  # a torn line, or a chunk not recorded
            os.truncate(self.part, state["size"])
        self.chunk_lines = list(state["chunk_lines"])
        self.chunk_records = list(state["chunk_records"])
        self.size = state["size"]
        self.tally = Tally.from_dict(state["tally"])
        self._done_reader = open(self.part, encoding="utf-8")

    # ------------------------------------------------------------ chunks
    def is_done(self, chunk: int) -> bool:
        """Whether the chunk is in the part already (this process's
        ``i``-th chunk is the run's chunk ``rank + i * world_size``)."""
        return chunk // self.shard.world_size < len(self.chunk_lines)

    def check_done(self, chunk: int,
                   mismatch: Callable[[List[str]], Optional[str]]) -> None:
        """Read back the lines of a chunk written before and check them.

        Raises:
            ValueError: naming the line of the part that does not fit.
        """
        count = self.chunk_lines[chunk // self.shard.world_size]
        lines = [self._done_reader.readline().rstrip("\n")
                 for _ in range(count)]
        problem = mismatch(lines)
        if problem is None and lines and not lines[-1]:
            problem = "it ends early"
        if problem is not None:
            raise ValueError(
                f"cannot resume: {self.part} lines {self._line + 1}-"
                f"{self._line + count} do not fit the input: {problem}; "
                f"pass overwrite=True to start again")
        self._line += count

    def commit(self, records: int, lines: Sequence[str], tally: Tally,
               timings: Timings) -> None:
        """Append the lines of a chunk of ``records`` records, flush them
        to disk, then record them with the run's ``tally`` so far."""
        if self._done_reader is not None:
            self._done_reader.close()
            self._done_reader = None
        if self._file is None:
            self._file = open(self.part, "ab")
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())
        self.size += len(data)
        self.chunk_lines.append(len(lines))
        self.chunk_records.append(records)
        self._save(tally, timings, finished=False)

    def finish(self, tally: Tally, timings: Timings) -> None:
        """Close the part and record that it is complete."""
        for handle in (self._file, self._done_reader):
            if handle is not None:
                handle.close()
        if not self.part.exists():  # no chunk for this process
            self.part.touch()
        self._save(tally, timings, finished=True)

    def publish(self, pieces: Callable[[Iterable[str]],
                                       Optional[Iterable[str]]]) -> None:
        """Turn the part of a one-process run into the output."""
        text = pieces(_lines_of(self.part))
        if text is None:
            os.replace(self.part, self.output)
        else:
            write_atomically(self.output, text)
            self.part.unlink()
        self.state_file.unlink()

    def _save(self, tally: Tally, timings: Timings, finished: bool) -> None:
        write_atomically(self.state_file, json.dumps({
            "run": self.run, "chunk_lines": self.chunk_lines,
            "chunk_records": self.chunk_records, "size": self.size,
            "tally": tally.to_dict(), "seconds": timings.seconds,
            "finished": finished}) + "\n")


def _join(output: Path, world_size: int,
          pieces: Callable[[Iterable[str]], Optional[Iterable[str]]]
          ) -> Tuple[Tally, Timings]:
    """Join the parts of ``world_size`` processes into ``output`` in chunk
    order; their counts and timings summed."""
    parts = [output.with_name(output.name + Shard(rank, world_size).suffix)
             for rank in range(world_size)]
    states = [json.loads(_state_file(part).read_text(encoding="utf-8"))
              for part in parts]
    for part, state in zip(parts, states):
        if not state["finished"]:
            raise RuntimeError(f"{part} is not complete after the barrier")
    tally, timings = Tally(), Timings()
    for state in states:
        tally.add(Tally.from_dict(state["tally"]))
        timings.add(state["seconds"])
    files = [open(part, encoding="utf-8") for part in parts]
    try:
        def lines() -> Iterator[str]:
            # Chunk i of the run is chunk i // W of process i % W.
            for position in range(max(len(s["chunk_lines"]) for s in states)):
                for rank, state in enumerate(states):
                    if position < len(state["chunk_lines"]):
                        for _ in range(state["chunk_lines"][position]):
                            yield files[rank].readline().rstrip("\n")
        text = pieces(lines())
        write_atomically(output, (line + "\n" for line in lines())
                         if text is None else text)
    finally:
        for file in files:
            file.close()
    for part in parts:
        part.unlink()
        _state_file(part).unlink()
    return tally, timings


def _lines_of(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as file:
        for line in file:
            yield line.rstrip("\n")


def _chunks(records: Iterable[Any], size: int) -> Iterator[List[Any]]:
    iterator = iter(records)
    while True:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield chunk


def _share(total: int, chunk_size: int, shard: Shard) -> int:
    """Records of ``shard``'s chunks among ``total`` records."""
    return sum(min(chunk_size, total - start)
               for start in range(shard.rank * chunk_size, total,
                                  shard.world_size * chunk_size))


def _state_file(part: Path) -> Path:
    return part.with_name(part.name + ".state.json")


def _is_ours(path: Path, output: Path, shard: Shard) -> bool:
    """Whether ``path`` is a partial output (or state) of a process of a
    run with ``shard``'s number of processes."""
    return any(path.name in (name, name + ".state.json") for name in (
        output.name + Shard(rank, shard.world_size).suffix
        for rank in range(shard.world_size)))


def _differences(old: Dict[str, Any], new: Dict[str, Any]) -> str:
    changed = [f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
               for key in sorted(set(old) | set(new))
               if old.get(key) != new.get(key)]
    return ", ".join(changed)


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _join_process_group() -> None:
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo", timeout=JOIN_TIMEOUT)


def _barrier() -> None:
    import torch.distributed as dist

    dist.barrier()


def _leave_process_group() -> None:
    import torch.distributed as dist

    dist.destroy_process_group()
