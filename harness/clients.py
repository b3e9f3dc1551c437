"""Many clients at once, for the race tests and the concurrent benchmark: each a thread, released
together by a barrier."""

import threading
from concurrent.futures import ThreadPoolExecutor


def at_once(count, work):
	"""Run work(i) in `count` threads released together; their results, in order."""
	barrier = threading.Barrier(count)

	def run(i):
		barrier.wait()
		return work(i)

	with ThreadPoolExecutor(max_workers=count) as pool:
		return list(pool.map(run, range(count)))
