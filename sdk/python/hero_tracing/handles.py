"""Handles of children started with `logic.spawn`, `logic.map` and `logic.ainvoke`.

A child's step key is fixed when the call is made (the runner sends `invoke_start` from the
calling thread); its body runs in a thread of its own, and the handle carries its output or
its failure back to whoever asks for it.
"""

import concurrent.futures


class Started:
    """A child call after `invoke_start`: its memoized output, or the body still to run."""

    __slots__ = ("name", "output", "frame", "find", "args", "policy", "bound")

    def __init__(self, name, output=None, frame=None, find=None, args=None, policy=None,
                 bound=False):
        self.name = name
        # A bound child's end waits for the daemon's answer: its mappings make the result.
        self.bound = bound
        # The callee's own retry policy, for a call by name that follows it (else None).
        self.policy = policy
        self.output = output
        # The child's PlayFrame, its body finder and inputs, when it is to run here.
        self.frame = frame
        self.find = find
        self.args = args


class Handle:
    """One child Play running concurrently with its caller.

    `result()` blocks until it ends and returns its output dict, or raises what it raised
    (`ChildFailed`, as `logic.invoke` would); `await handle` does the same in async code.
    """

    __slots__ = ("logic_name", "future")

    def __init__(self, logic_name):
        self.logic_name = logic_name
        self.future = concurrent.futures.Future()

    def __repr__(self):
        state = "done" if self.future.done() else "running"
        return f"<hero_tracing handle {self.logic_name!r} {state}>"

    def done(self):
        return self.future.done()

    def result(self, timeout=None):
        """The child's output; raises its failure, or TimeoutError after `timeout` seconds."""
        return self.future.result(timeout)

    def exception(self, timeout=None):
        """The child's failure, or None when it succeeded; waits like `result`."""
        return self.future.exception(timeout)

    def __await__(self):
        return self.wait_async().__await__()

    async def wait_async(self):
        import asyncio

        return await asyncio.wrap_future(self.future)


def wait_all(handles):
    """Waits until every handle has ended, whatever its outcome."""
    pending = [h.future for h in handles if not h.future.done()]
    if pending:
        concurrent.futures.wait(pending)
