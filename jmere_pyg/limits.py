"""Word limits on the posts that jmere_pyg reads: a word-pair graph grows
with the square of a post's length, so longer posts are left out (training,
evaluation) or read in windows (extraction).

Imports nothing, so that the command line can show these defaults without
loading a model."""

#: Longest post (in words) that training and evaluation read; longer ones
#: are left out and counted.
DEFAULT_MAX_WORDS = 128
#: Word limit of the windows that extraction cuts long posts into.
WINDOW_WORDS = 100
