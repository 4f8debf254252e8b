"""`from word_stats import word_stats`: importing a stored Logic by name inside the runner.

The finder sits last on sys.meta_path, so the standard library and installed packages always
win; only a top-level name that looks like a logic name (`[a-z][a-z0-9_]*`) and that nothing
else found is asked of the daemon (`resolve`). The module it makes holds one callable, named
after the Logic, that runs the Logic's current version as a child Play.

The finder and loader implement the import protocol (`find_spec`, `create_module`,
`exec_module`) without subclassing `importlib.abc`: on Python 3.11 that module pulls in
importlib.resources, tempfile, pathlib and typing, about 14 ms on every runner start.
"""

import importlib.machinery

from .results import declared_names

_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz")
_REST = _FIRST | frozenset("0123456789_")


def is_logic_name(name):
    """`[a-z][a-z0-9_]*`, checked without `re` to keep the runner's start cheap."""
    return bool(name) and name[0] in _FIRST and all(c in _REST for c in name)


class LogicProxy:
    """Calls a stored Logic as a child Play (never local): `word_stats(words=[...])`.

    Returns the child's output dict; positional arguments take the declared inputs' names in
    order, since a child Play's inputs are named.
    """

    def __init__(self, runtime, spec):
        self._runtime = runtime
        self.__name__ = self.__qualname__ = spec.get("name", "")
        self.__doc__ = spec.get("description") or f"The stored logic {self.__name__!r}."
        self._inputs = declared_names(spec.get("inputs"))

    def __repr__(self):
        return f"<stored logic {self.__name__!r}>"

    def __call__(self, *args, **kwargs):
        if len(args) > len(self._inputs):
            raise TypeError(
                f"logic {self.__name__!r} takes {len(self._inputs)} positional arguments but "
                f"{len(args)} were given; pass a logic's inputs by name"
            )
        named = dict(zip(self._inputs, args))
        twice = sorted(named.keys() & kwargs.keys())
        if twice:
            raise TypeError(
                f"logic {self.__name__!r} got multiple values for argument {twice[0]!r}")
        named.update(kwargs)
        return self._runtime.invoke(self.__name__, named)


class LogicLoader:
    """Fills the module of a stored Logic with its proxy."""

    def __init__(self, runtime, spec):
        self._runtime = runtime
        self._spec = spec

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        name = module.__name__
        module.__doc__ = self._spec.get("description") or None
        setattr(module, name, LogicProxy(self._runtime, self._spec))
        module.__getattr__ = _missing_attribute(name)


def _missing_attribute(name):
    """A module `__getattr__` whose error says what a stored Logic's module offers."""

    def __getattr__(attribute):
        raise AttributeError(
            f"module {name!r} is the stored logic {name!r}: it offers only `{name}` "
            f"(call it to run the logic), not {attribute!r}"
        )

    return __getattr__


class LogicFinder:
    """Resolves otherwise unimportable top-level names through the daemon (a meta path finder)."""

    def __init__(self, runtime):
        self._runtime = runtime

    def invalidate_caches(self):
        """Nothing cached here: importlib.invalidate_caches() calls it on every finder."""

    def find_spec(self, fullname, path=None, target=None):
        if path is not None or not is_logic_name(fullname):
            return None
        spec = self._runtime.resolve(fullname)
        if spec is None:
            return None
        loader = LogicLoader(self._runtime, spec)
        return importlib.machinery.ModuleSpec(fullname, loader, origin=f"hero_logic:{fullname}")
