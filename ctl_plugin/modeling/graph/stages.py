"""Named stages of the graph head's forward pass, for tools that time or inspect them
(`bench/ctl_breakdown.py`, `CTLGraph.topology`) without a copy of the forward.

An observer is a callable `observe(name, fn, inputs)`; a forward that takes one calls it
before each of its stages with the stage's name, the callable that computes the stage and
that callable's inputs, then computes `fn(*inputs)` itself. The stages inside a stage are
named "<outer> > <inner>".
"""


def stage(observe, name, fn, *inputs, nested=False):
    """fn(*inputs), observed first when an observer is given. With `nested`, fn takes an
    `observe=` keyword for the stages inside it; the observer gets fn without it."""
    if observe is not None:
        observe(name, fn, inputs)
    if not nested:
        return fn(*inputs)
    inner = None if observe is None else (lambda n, f, x: observe(f"{name} > {n}", f, x))
    return fn(*inputs, observe=inner)
