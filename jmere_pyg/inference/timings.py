"""Where the time of a run goes: seconds per stage, summed over a run
(``--profile`` of ``predict`` and ``scene-graphs``)."""
import time
from contextlib import contextmanager, nullcontext
from typing import ContextManager, Dict, Iterator, Mapping, Optional


class Timings:
    """Wall-clock seconds per named stage, in the order stages first ran.

    Example::

        timings = Timings()
        with timings("model"):
            ...
        print(timings.summary(posts=1000))
    """

    def __init__(self):
        self.seconds: Dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        """Adds the time spent in the ``with`` block to ``stage``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = (self.seconds.get(stage, 0.0)
                                   + time.perf_counter() - start)

    def add(self, seconds: Mapping[str, float]) -> None:
        """Adds the seconds of another run (another process's)."""
        for stage, value in seconds.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + value

    def summary(self, items: int, unit: str = "post") -> str:
        """One line: each stage's seconds, share and milliseconds per item,
        e.g. ``model 12.1 s (64%, 12.1 ms/post)``."""
        total = sum(self.seconds.values())
        parts = [f"{stage} {value:.1f} s ({value / total:.0%}, "
                 f"{1000 * value / max(items, 1):.1f} ms/{unit})"
                 for stage, value in self.seconds.items()] if total else []
        return "time: " + (", ".join(parts) or "nothing timed")


def stage(timings: Optional[Timings], name: str) -> ContextManager:
    """``timings(name)``, or a block that times nothing without
    ``timings``."""
    return nullcontext() if timings is None else timings(name)
