"""The README and the pages under docs/ link only to what is there.

Every relative link and image (`[text](target)`, `![alt](target)`, `[text]: target`) in README.md and
docs/*.md must name a file that exists, resolved against the page's own folder, and a link to a part
of another page (`page.md#anchor`) must name a heading of that page under GitHub's anchor rule. Links
inside code (fenced blocks, `inline spans`) are not links. Reads files only: no site, no network.
"""

import os
import re
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent

# A link or image whose text holds no brackets; nested ones (an image inside a link) are found by
# replacing each match with its text and searching again.
INLINE_LINK = re.compile(
	r"!?\[([^\[\]]*)\]"  # [text] or ![alt]
	r"\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"  # (target, which may hold one level of parentheses
	r"(?:\s+[\"'(][^)]*)?\s*\)"  # an optional "title")
)
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
HTML_ANCHOR = re.compile(r"<a\s[^>]*?\b(?:name|id)=[\"']([^\"']+)[\"']", re.IGNORECASE)
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, any scheme


def pages():
	return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def prose_lines(path):
	"""(line number, text) of each line outside fenced code blocks."""
	fence = None
	for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
		opening = FENCE.match(line)
		if fence is None and opening:
			fence = opening.group(1)
			continue
		if fence is not None:
			if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
				fence = None
			continue
		yield number, line


def paragraphs(path):
	"""(first line number, text) of each run of lines outside code blocks, up to a blank line: a code
	span may run over a line's end, never over a paragraph's."""
	start, lines = None, []
	for number, line in prose_lines(path):
		if lines and (not line.strip() or number != start + len(lines)):
			yield start, "\n".join(lines)
			start, lines = None, []
		if line.strip():
			start = number if not lines else start
			lines.append(line)
	if lines:
		yield start, "\n".join(lines)


def link_targets(path):
	"""(line number, target) of every link and image in a page, code left out."""
	for start, paragraph in paragraphs(path):
		text = CODE_SPAN.sub(lambda span: "code" + "\n" * span.group(0).count("\n"), paragraph)
		for offset, line in enumerate(text.split("\n")):
			definition = REFERENCE_DEFINITION.match(line)
			if definition:
				yield start + offset, definition.group(1).strip("<>")
		while True:
			found = list(INLINE_LINK.finditer(text))
			if not found:
				break
			for match in found:
				yield start + text.count("\n", 0, match.start()), match.group(2).strip("<>")
			text = INLINE_LINK.sub(lambda match: match.group(1), text)


def github_anchor(heading):
	"""GitHub's anchor for a heading: its text lower-cased, punctuation but hyphens (and the
	underscores GitHub keeps as word characters) removed, spaces turned into hyphens."""
	text = INLINE_LINK.sub(lambda match: match.group(1), heading)
	text = re.sub(r"<[^>]+>", "", text)
	text = re.sub(r"[^\w\- ]", "", text.strip().lower())
	return text.replace(" ", "-")


def anchors(path):
	"""Every anchor a page has: its headings' (a repeated one gets -1, -2, ...) and HTML ones."""
	found, seen = set(), {}
	for _number, line in prose_lines(path):
		found.update(HTML_ANCHOR.findall(line))
		heading = HEADING.match(line)
		if not heading:
			continue
		anchor = github_anchor(heading.group(2))
		repeats = seen.get(anchor, 0)
		seen[anchor] = repeats + 1
		found.add(anchor if repeats == 0 else f"{anchor}-{repeats}")
	return found


def broken_links():
	failures = []
	for page in pages():
		where = page.relative_to(ROOT)
		for number, target in link_targets(page):
			if not target or target.startswith("#") or EXTERNAL.match(target):
				continue
			address, _, anchor = target.partition("#")
			address = unquote(address.split("?", 1)[0])
			resolved = (page.parent / address).resolve()
			if not resolved.exists():
				failures.append(f"{where}:{number}: {target}: no such file {os.path.relpath(resolved, ROOT)}")
				continue
			if anchor and resolved.suffix == ".md" and resolved.is_file():
				if unquote(anchor) not in anchors(resolved):
					failures.append(f"{where}:{number}: {target}: no heading with the anchor #{anchor}")
	return failures


def test_every_relative_link_in_the_readme_and_docs_resolves():
	assert (ROOT / "README.md").is_file()
	failures = broken_links()
	assert failures == [], "links that lead nowhere:\n" + "\n".join(failures)
