"""The package's layers, read from its imports: each module imports only from its own layer or the
layers below it, and no modules import each other in a circle (imports inside functions count too:
a late import is still an arrow). Run on its own to see the arrows and circles:

    python -m tests.test_layers        # from the repository's root; needs no site
"""

import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "crm_appointments"

# From the top down. A module belongs to the first layer whose prefix it starts with.
LAYERS = [
	(
		"entry points",
		[
			"crm_appointments.api",
			"crm_appointments.hooks",
			"crm_appointments.commands",
			"crm_appointments.rest",
			"crm_appointments.www",
			"crm_appointments.patches",
			# Webhooks: raised from doc_events, sent by jobs, in the API's shape (rest.schema).
			"crm_appointments.webhooks",
		],
	),
	("booking", ["crm_appointments.booking"]),
	("setup", ["crm_appointments.setup"]),
	("desk", ["crm_appointments.desk"]),
	("the module's documents", ["crm_appointments.crm_appointments"]),
	("notify", ["crm_appointments.notify"]),
	("calendars", ["crm_appointments.calendars"]),
	("records", ["crm_appointments.records"]),
	("scheduling", ["crm_appointments.scheduling"]),
	("core", ["crm_appointments.core", "crm_appointments.templates"]),
]


def module_name(path: pathlib.Path) -> str:
	parts = list(path.relative_to(ROOT).with_suffix("").parts)
	if parts[-1] == "__init__":
		parts.pop()
	return ".".join(parts)


def modules() -> dict[str, pathlib.Path]:
	"""Every module of the package but its face (crm_appointments/__init__.py: the version)."""
	found = {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}
	found.pop(PACKAGE, None)
	return found


def imports_of(path: pathlib.Path, known: set[str]) -> list[tuple[str, int]]:
	"""The app's modules a file imports (module level or inside functions), with the line."""
	found = []
	for node in ast.walk(ast.parse(path.read_text(), str(path))):
		if isinstance(node, ast.Import):
			names = [alias.name for alias in node.names]
		elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
			# `from a.b import c`: c may be a module of a.b, or a name in it.
			names = [f"{node.module}.{alias.name}" for alias in node.names]
			names = [name if name in known else node.module for name in names]
		else:
			continue
		found += [(name, node.lineno) for name in names if name.split(".")[0] == PACKAGE and name in known]
	return found


def layer_of(module: str) -> int:
	for index, (_name, prefixes) in enumerate(LAYERS):
		if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
			return index
	raise AssertionError(f"{module} is in no layer: add it to tests/test_layers.py's LAYERS")


def graph() -> dict[str, list[tuple[str, int]]]:
	found = modules()
	known = set(found)
	return {module: imports_of(path, known) for module, path in found.items()}


def upward_imports(edges) -> list[str]:
	wrong = []
	for module, targets in edges.items():
		for target, line in sorted(set(targets)):
			if target == PACKAGE or target.startswith(module + "."):
				continue  # a package's own modules
			if layer_of(target) < layer_of(module):
				wrong.append(
					f"{module}:{line} imports {target} ({LAYERS[layer_of(module)][0]} -> "
					f"{LAYERS[layer_of(target)][0]}, which is above it)"
				)
	return wrong


def circles(edges) -> list[list[str]]:
	"""Strongly connected components of more than one module (Tarjan's algorithm)."""
	index, low, on_stack, stack, found = {}, {}, set(), [], []
	counter = [0]

	def visit(node):
		index[node] = low[node] = counter[0]
		counter[0] += 1
		stack.append(node)
		on_stack.add(node)
		for target, _line in edges.get(node, ()):
			if target == PACKAGE or target not in edges:
				continue
			if target not in index:
				visit(target)
				low[node] = min(low[node], low[target])
			elif target in on_stack:
				low[node] = min(low[node], index[target])
		if low[node] == index[node]:
			component = []
			while True:
				member = stack.pop()
				on_stack.discard(member)
				component.append(member)
				if member == node:
					break
			if len(component) > 1:
				found.append(sorted(component))

	for node in sorted(edges):
		if node not in index:
			visit(node)
	return found


def test_every_module_imports_only_from_its_layer_or_below():
	assert upward_imports(graph()) == []


def test_no_modules_import_each_other_in_a_circle():
	assert circles(graph()) == []


if __name__ == "__main__":
	edges = graph()
	for number, (name, _prefixes) in enumerate(LAYERS):
		members = sorted(m for m in edges if layer_of(m) == number)
		print(f"{number} {name}: {len(members)} modules")
	wrong, loops = upward_imports(edges), circles(edges)
	print(f"imports that run up: {len(wrong)}", *wrong, sep="\n  ")
	print(f"circles: {len(loops)}", *[" <-> ".join(loop) for loop in loops], sep="\n  ")
	sys.exit(1 if wrong or loops else 0)
