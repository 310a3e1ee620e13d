#!/usr/bin/env python3
"""The workspace's shape, checked (`make lint`): everything flows downhill.

1. The crate graph of the workspace, dev-dependencies included, has no cycle. A crate's
   dev-dependency on itself (`stravasync-consumer = { path = ".", features = [...] }`,
   the way a crate's own tests turn on its `test-util` feature) is not a cycle: it is the
   same crate, built once, and is ignored.
2. No module cycle inside a crate: a module that names another (`crate::a`, `super::a`)
   is above it, and nothing below names it back. Parents and their children are exempt
   (a child sees its parent's items, a parent declares its children).
3. `stravasync-core`, the pure rules, builds and tests without the AWS SDK, an HTTP
   server or an HTTP client: no `aws-*`, `axum` or `reqwest` among its dependencies and
   dev-dependencies, transitively (what `cargo tree -e normal,dev -p stravasync-core` lists);
   and it holds no HTML (pages and their text belong to the read side and the functions).
4. The docs match the graph: the README's table of paths lists exactly the workspace's
   crates, and each row of docs/design.md's layout table names every workspace crate the
   crate depends on (normal dependencies; dev ones for `tests/`, whose crate has only those).

Reads `cargo metadata` (run from the workspace root); prints the crate graph with
`--print`. Exit status 1 on any violation, naming it.
"""

import json
import os
import re
import subprocess
import sys

PURE_CRATE = "stravasync-core"
FORBIDDEN_IN_PURE = re.compile(r"^(aws-.*|axum|axum-.*|reqwest)$")


def metadata():
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1"], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def workspace_graph(meta):
    """Member name -> {member name: set of kinds}, self-edges dropped."""
    members = {p["name"]: p for p in meta["packages"] if p["id"] in meta["workspace_members"]}
    graph = {}
    for name, package in members.items():
        edges = graph.setdefault(name, {})
        for dep in package["dependencies"]:
            if dep["name"] in members and dep["name"] != name:
                edges.setdefault(dep["name"], set()).add(dep["kind"] or "normal")
    return graph


def find_cycle(graph):
    """One cycle as a list of nodes (first == last), or None."""
    state = {}
    path = []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = "done"
        return None

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.split("\n"))


def crate_modules(src):
    """Module path (tuple) -> source text without comments, for one crate's `src/`."""
    modules = {}
    for root, _, files in os.walk(src):
        for file in files:
            if not file.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, file), src)[:-3].split(os.sep)
            if rel[0] == "bin" or rel in (["lib"], ["main"]):
                continue
            if rel[-1] == "mod":
                rel = rel[:-1]
            with open(os.path.join(root, file), encoding="utf-8") as f:
                modules[tuple(rel)] = strip_comments(f.read())
    return modules


def module_graph(modules):
    names = set(modules)

    def longest_module(segments):
        for k in range(len(segments), 0, -1):
            if tuple(segments[:k]) in names:
                return tuple(segments[:k])
        return None

    graph = {}
    for module, text in modules.items():
        refs = set()
        for path in re.findall(r"\bcrate::((?:\w+::)*\w+)", text):
            refs.add(longest_module(path.split("::")))
        for path in re.findall(r"\bsuper::((?:\w+::)*\w+)", text):
            refs.add(longest_module(list(module[:-1]) + path.split("::")))
        # `use super::{a, b}` and `crate::{a, b}`: each name in the braces.
        for base, inner in re.findall(r"\b(crate|super)::\{([^}]*)\}", text):
            prefix = [] if base == "crate" else list(module[:-1])
            for item in inner.split(","):
                item = item.strip().split(" as ")[0].strip()
                if item:
                    refs.add(longest_module(prefix + item.split("::")))
        refs.discard(None)
        graph[module] = {
            r for r in refs if r != module and r != module[: len(r)] and module != r[: len(module)]
        }
    return graph


HTML_TAG = re.compile(r'"[^"\n]*<(a|p|div|span|footer|header|main|section|h[1-6]|img|html|body|script|ul|li|table|tr|td|form|button)[ >/][^"\n]*"')


def core_html(root):
    """HTML in a string of `crates/core/src`."""
    found = []
    for dirpath, _, files in os.walk(os.path.join(root, "crates/core/src")):
        for file in files:
            if file.endswith(".rs"):
                path = os.path.join(dirpath, file)
                with open(path, encoding="utf-8") as f:
                    for n, line in enumerate(f, 1):
                        if HTML_TAG.search(line):
                            found.append(f"HTML in {os.path.relpath(path, root)}:{n} (the read side or the function that shows it owns it)")
    return found


def short(name):
    return name[len("stravasync-"):] if name.startswith("stravasync-") else name


def docs_match(root, meta, graph):
    """The README's path table and docs/design.md's layout table against `cargo metadata`."""
    problems = []
    members = {p["name"]: os.path.relpath(os.path.dirname(p["manifest_path"]), root)
               for p in meta["packages"] if p["id"] in meta["workspace_members"]}
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    table = readme[readme.index("| path | what lives there |"):]
    table = table[: table.index("\n\n")]
    listed = set()
    for row in table.split("\n")[2:]:
        first = row.split("|")[1]
        listed |= {p.strip("/") for p in re.findall(r"`([^`]+)`", first)}
    for name, path in sorted(members.items()):
        if path not in listed:
            problems.append(f"README.md's table of paths has no row for {path} ({name})")
    for path in sorted(p for p in listed if (p.startswith("crates/") or p == "tests") and p not in members.values()):
        problems.append(f"README.md's table of paths lists {path}, which is not a workspace crate")
    with open(os.path.join(root, "docs/design.md"), encoding="utf-8") as f:
        design = f.read()
    layout = design[design.index("| path | what lives there | may depend on |"):]
    layout = layout[: layout.index("\n\n")]
    rows = {}
    for row in layout.split("\n")[2:]:
        cells = row.split("|")
        m = re.match(r"\s*`([^`]+)`", cells[1])
        if m:
            rows[m.group(1).strip("/")] = cells[-2]
    for name, path in sorted(members.items()):
        if path not in rows:
            problems.append(f"docs/design.md's layout table has no row for {path} ({name})")
            continue
        kinds = ({"dev"} if path == "tests" else {"normal"})
        named = set(re.findall(r"[\w-]+", rows[path]))
        for dep, dep_kinds in sorted(graph[name].items()):
            if dep_kinds & kinds and short(dep) not in named:
                problems.append(f"docs/design.md: {path} depends on {short(dep)}, which its row does not name")
    return problems


def main():
    meta = metadata()
    graph = workspace_graph(meta)
    problems = []

    if "--print" in sys.argv:
        for name in sorted(graph):
            deps = ", ".join(
                f"{d} ({'/'.join(sorted(k))})" if k != {"normal"} else d for d, k in sorted(graph[name].items())
            )
            print(f"{name} -> {deps or '-'}")

    cycle = find_cycle({n: set(e) for n, e in graph.items()})
    if cycle:
        problems.append("crate cycle (dev-dependencies included): " + " -> ".join(cycle))

    root = os.path.dirname(meta["workspace_root"] + "/")
    for package in meta["packages"]:
        if package["id"] not in meta["workspace_members"]:
            continue
        src = os.path.join(os.path.dirname(package["manifest_path"]), "src")
        if not os.path.isdir(src):
            continue
        cycle = find_cycle(module_graph(crate_modules(src)))
        if cycle:
            where = os.path.relpath(src, root)
            problems.append(f"module cycle in {where}: " + " -> ".join("::".join(m) for m in cycle))

    # What building and testing the pure crate pulls in: its normal and dev edges, then
    # the normal and build edges of everything below it.
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    names = {p["id"]: p["name"] for p in meta["packages"]}
    start = next(p["id"] for p in meta["packages"] if p["name"] == PURE_CRATE and p["id"] in meta["workspace_members"])
    seen, todo = {start}, [(start, True)]
    while todo:
        node, is_root = todo.pop()
        for dep in nodes[node]["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if kinds & ({None, "build", "dev"} if is_root else {None, "build"}) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append((dep["pkg"], False))
    forbidden = sorted({names[i] for i in seen if FORBIDDEN_IN_PURE.match(names[i])})
    if forbidden:
        problems.append(f"{PURE_CRATE} (with its dev-dependencies) pulls in: {', '.join(forbidden)}")

    problems += core_html(root)
    problems += docs_match(root, meta, graph)

    for p in problems:
        print(f"check_graph: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_graph: {len(graph)} crates, no crate or module cycle; {PURE_CRATE} builds without AWS or HTTP")
    return 0


if __name__ == "__main__":
    sys.exit(main())
