"""The layout with what rules read: such an edge is drawn (kind "read") and, as a build waits for
it, places the reader right of what it reads; one that would close a cycle bends no layer."""

from __future__ import annotations

from assetbuild.present.layout import NODE_W, layout


def test_a_read_places_its_reader_to_the_right_and_is_drawn_as_a_read():
    upstream = {"src": [], "keys": [], "facts": ["src"]}
    plain = layout(["src", "keys", "facts"], upstream)
    assert plain.boxes["facts"].layer == plain.boxes["keys"].layer + 1 == 1  # upstream alone
    lay = layout(["src", "keys", "facts"], upstream, {"facts": ["keys"]})
    assert lay.boxes["facts"].x >= lay.boxes["keys"].x + NODE_W
    kinds = {(e.source, e.target): e.kind for e in lay.edges}
    assert kinds == {("src", "facts"): "upstream", ("keys", "facts"): "read"}


def test_a_read_that_pulls_its_reader_a_layer_right():
    # keys is two steps from the roots; facts, one step, must move right of it
    upstream = {"src": [], "mid": ["src"], "keys": ["mid"], "facts": ["src"]}
    lay = layout(["src", "mid", "keys", "facts"], upstream, {"facts": ["keys"]})
    assert lay.boxes["facts"].layer == 3 and lay.boxes["keys"].layer == 2


def test_a_read_closing_a_cycle_is_drawn_but_moves_nothing():
    upstream = {"a": [], "b": ["a"]}
    lay = layout(["a", "b"], upstream, {"a": ["b"]})  # a's rules read b, which reads a
    assert lay.boxes["a"].layer == 0 and lay.boxes["b"].layer == 1
    assert {(e.source, e.target, e.kind) for e in lay.edges} == {("a", "b", "upstream"), ("b", "a", "read")}


def test_a_read_of_an_upstream_is_not_drawn_twice():
    lay = layout(["a", "b"], {"a": [], "b": ["a"]}, {"b": ["a"]})
    assert [(e.source, e.target, e.kind) for e in lay.edges] == [("a", "b", "upstream")]
