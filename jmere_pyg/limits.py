"""Limits and sizes of the work jmere_pyg does: word limits on the posts
it reads (a word-pair graph grows with the square of a post's length, so
longer posts are left out in training and evaluation, or read in windows in
extraction), and the chunks a run over a corpus holds at once.

Imports nothing, so that the command line can show these defaults without
loading a model."""

#: Longest post (in words) that training and evaluation read; longer ones
#: are left out and counted.
DEFAULT_MAX_WORDS = 128
#: Word limit of the windows that extraction cuts long posts into.
WINDOW_WORDS = 100

#: Posts whose graphs and grids are held at once (a chunk of a run).
CHUNK_SIZE = 1024
#: Parses a run over a corpus keeps from one chunk to the next (those used
#: last), so that repeated posts are parsed once: about 16 MiB for posts
#: of 16 words.
PARSE_CACHE_SIZE = 16_384
#: Images per chunk of a ``scene-graphs`` run.
SCENE_GRAPH_CHUNK = 64
#: Threads reading images ahead of the detector.
IMAGE_WORKERS = 2
