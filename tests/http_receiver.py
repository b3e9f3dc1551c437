"""An HTTP server of a test's own on a free loopback port, standing in for what the app sends to (a
webhook receiver, an SMS gateway): each request gets the next of `answers` (a status code, or SILENT:
no answer until `silent_seconds` have passed), then `default`; a 3xx answer points Location at
`url + "/followed"`. Every request is kept: its method, path, headers (lower-case names), the exact
body bytes and the answer it got."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SILENT = "silent"


class Receiver:
	def __init__(self, path: str = "/", silent_seconds: float = 2.0):
		self.answers, self.default, self.received = [], 200, []
		self.lock = threading.Lock()
		receiver = self

		class Handler(BaseHTTPRequestHandler):
			wbufsize = 65536  # the answer in one write, as a real server sends it

			def do_POST(self):
				body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
				with receiver.lock:
					answer = receiver.answers.pop(0) if receiver.answers else receiver.default
					receiver.received.append(
						{
							"method": self.command,
							"path": self.path,
							"headers": {k.lower(): v for k, v in self.headers.items()},
							"body": body,
							"answer": answer,
						}
					)
				if answer == SILENT:
					time.sleep(silent_seconds)
					return
				self.send_response(answer)
				if 300 <= answer < 400:
					self.send_header("Location", receiver.url + "/followed")
				self.send_header("Content-Length", "7")
				self.end_headers()
				self.wfile.write(b"answer.")

			do_GET = do_POST

			def log_message(self, *args):
				pass

		self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
		self.server.daemon_threads = True
		self.server.block_on_close = False
		self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
		self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
		self.thread.start()

	@staticmethod
	def params(request: dict) -> dict[str, str]:
		"""A request's parameters, from its query and its form body (the first value of each)."""
		found = parse_qs(urlsplit(request["path"]).query) | parse_qs(request["body"].decode())
		return {name: values[0] for name, values in found.items()}

	def stop(self):
		self.server.shutdown()
		self.server.server_close()
