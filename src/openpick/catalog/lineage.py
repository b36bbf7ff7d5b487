"""Lineage: base model → fine-tunes, adapters, quantizations and merges.

Edges come from each record's `base_model` list (Hugging Face's field), so the tree is
only as complete as the catalog. A base id with no record of its own still shows up, as
a node without facts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from openpick.catalog.schema import ModelRecord


@dataclass
class Node:
    id: str
    relation: str | None = None           # how this node derives from its parent
    known: bool = True                    # False: referenced as a base, no record
    children: list[Node] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": self.id, "relation": self.relation, "known": self.known,
                "children": [c.to_dict() for c in self.children]}

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()


class Lineage:
    def __init__(self, records: list[ModelRecord]):
        self.by_id = {r.id.lower(): r for r in records}
        self.children: dict[str, list[ModelRecord]] = defaultdict(list)
        for r in records:
            for b in r.base_model:
                self.children[b.lower()].append(r)

    def _canon(self, rid: str) -> str:
        r = self.by_id.get(rid.lower())
        return r.id if r else rid

    def ancestors(self, rid: str) -> list[list[str]]:
        """Every path from this model up to a root, nearest first."""
        paths: list[list[str]] = []

        def up(cur: str, path: list[str]) -> None:
            rec = self.by_id.get(cur.lower())
            bases = rec.base_model if rec else []
            seen = {p.lower() for p in path} | {rid.lower()}
            # a base already on the path is a cycle in the data: stop rather than loop
            nxt = [b for b in bases if b.lower() not in seen]
            if not nxt:
                if path:
                    paths.append(path)
                return
            for b in nxt:
                up(b, [*path, self._canon(b)])

        up(rid, [])
        return paths

    def descendants(self, rid: str) -> Node:
        seen: set[str] = set()

        def down(cur: str, relation: str | None) -> Node:
            seen.add(cur.lower())
            node = Node(self._canon(cur), relation, cur.lower() in self.by_id)
            for child in sorted(self.children.get(cur.lower(), []), key=lambda r: r.id.lower()):
                if child.id.lower() not in seen:
                    node.children.append(down(child.id, child.base_model_relation or "finetune"))
            return node

        return down(rid, None)

    def roots(self, rid: str) -> list[str]:
        paths = self.ancestors(rid)
        roots = {p[-1] for p in paths} or {self._canon(rid)}
        return sorted(roots)

    def tree(self, rid: str) -> dict:
        """The model's family tree: its ancestors and the whole subtree of its roots."""
        return {
            "id": self._canon(rid),
            "ancestors": self.ancestors(rid),
            "descendants": self.descendants(rid).to_dict(),
            "family": [self.descendants(r).to_dict() for r in self.roots(rid)],
        }
