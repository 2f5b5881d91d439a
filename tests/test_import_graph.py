"""The plugin's packages import one another without a cycle (data <-> keypoints included)."""
import ast
import os

import ctl_plugin

PACKAGE = os.path.dirname(ctl_plugin.__file__)


def unit(module):
    """ctl_plugin.<unit>...: the top-level package or module a dotted name belongs to."""
    return module.split(".")[1]


def imported(path, module):
    """Dotted names of the plugin's modules that `module` (file `path`) imports, anywhere in it."""
    package = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
    names = []
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
            names += [f"{base}.{node.module}"] if node.module else [f"{base}.{a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return [n for n in names if n.startswith("ctl_plugin.")]


def unit_graph():
    """{unit: units it imports} over every file of the package."""
    graph = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
            module = rel[:-len(".__init__")] if rel.endswith(".__init__") else rel
            if module == "ctl_plugin":
                continue
            graph.setdefault(unit(module), set()).update(u for u in map(unit, imported(path, module))
                                                         if u != unit(module))
    return graph


def find_cycle(graph):
    """One cycle as a list of units, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, path + [nxt])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [start])
            if cycle:
                return cycle
    return None


def test_packages_import_each_other_without_a_cycle():
    graph = unit_graph()
    assert {"data", "keypoints", "modeling", "io", "config_checks"} <= set(graph)
    assert "keypoints" in graph["data"] and "data" not in graph["keypoints"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
