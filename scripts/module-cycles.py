#!/usr/bin/env python3
"""Module dependency graph of a Rust crate's src/, at file level, and its cycles.

Usage: module-cycles.py [SRC] [-v]   (-v also lists the edges inside each cycle)"""
import os, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else 'src'
mods = {}  # module path tuple -> file
for dp, dn, fn in os.walk(root):
    for f in fn:
        if not f.endswith('.rs'): continue
        p = os.path.relpath(os.path.join(dp, f), root)
        parts = p[:-3].split(os.sep)
        if parts[-1] in ('mod', 'lib', 'main'): parts = parts[:-1]
        mods[tuple(parts)] = os.path.join(dp, f)
def resolve(path):
    # longest module prefix of path
    for n in range(len(path), -1, -1):
        if tuple(path[:n]) in mods: return tuple(path[:n])
    return None
edges = {m: set() for m in mods}
tok = re.compile(r'\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)')
grp = re.compile(r'\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*?)\};', re.S)
for m, f in mods.items():
    src = open(f).read()
    # Drop an inline `#[cfg(test)] mod tests { ... }` block (at the end of a file, by convention).
    i = src.find('#[cfg(test)]\nmod tests {')
    if i >= 0: src = src[:i]
    src = re.sub(r'//[^\n]*', '', src)
    is_modrs = f.endswith('mod.rs') or f.endswith('lib.rs') or f.endswith('main.rs')
    base = list(m) if is_modrs else list(m[:-1])  # what `super` / `self` refers to
    def absolute(kind, rest):
        segs = [s for s in rest.split('::') if s]
        if kind == 'crate': cur = []
        elif kind == 'self': cur = list(m)
        else:
            cur = list(m[:-1])
            while segs and segs[0] == 'super':
                cur = cur[:-1]; segs = segs[1:]
        return cur + segs
    paths = []
    for g in grp.finditer(src):
        head = absolute(g.group(1), g.group(2))
        for item in re.split(r',', g.group(3)):
            item = item.strip().split(' as ')[0].strip()
            item = re.sub(r'[{}]', '', item)
            if not item: continue
            paths.append(head + [s for s in item.split('::') if s and s != 'self'])
    for t in tok.finditer(src):
        paths.append(absolute(t.group(1), t.group(2)))
    # Paths that start with a child module's name (`waitlist::offer`, `use waitlist::X`), from
    # a mod.rs or from a file with a folder of children of the same name.
    here = list(m)
    children = {k[len(here)] for k in mods if len(k) == len(here) + 1 and list(k[:len(here)]) == here}
    for ch in children:
        for t in re.finditer(r'(?<![:\w])' + ch + r'((?:::[A-Za-z_][A-Za-z0-9_]*)+)', src):
            paths.append(here + [ch] + [x for x in t.group(1).split('::') if x])
        for g in re.finditer(r'(?<![:\w])use\s+' + ch + r'((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{', src):
            paths.append(here + [ch])
    for p in paths:
        r = resolve(p)
        if r is not None and r != m:
            edges[m].add(r)
# Tarjan SCC
index = {}; low = {}; stack = []; on = set(); sccs = []; c = [0]
sys.setrecursionlimit(10000)
def sc(v):
    index[v] = low[v] = c[0]; c[0] += 1; stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(comp)
for v in mods:
    if v not in index: sc(v)
name = lambda m: '::'.join(m) or 'crate'
print(f"{len(mods)} modules, {sum(len(e) for e in edges.values())} edges, {len(sccs)} cycles (strongly connected groups)")
for comp in sorted(sccs, key=len, reverse=True):
    print(f"- {len(comp)} modules: " + ', '.join(sorted(name(m) for m in comp)))
    if '-v' in sys.argv:
        for a in sorted(comp):
            for b in sorted(edges[a] & set(comp)):
                print(f"    {name(a)} -> {name(b)}")
