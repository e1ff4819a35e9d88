"""Record classes: what the core used ``dataclasses.dataclass`` for, at a fraction of
its start-up cost.

Every headless command pays for the classes it imports before its first ``stat``. A
stdlib dataclass compiles up to six methods the moment its class is created (about
0.5 ms for a frozen one), and ``dataclasses`` itself loads ``inspect`` (about 5 ms with
what that pulls in): ``check --quick`` created 73 of them, 35 ms of a 124 ms command. A
record compiles nothing when its class is created: ``__eq__``, ``__hash__`` and
``__repr__`` are shared functions that read a per-class ``attrgetter``, and
``__init__`` is compiled the first time the class is built, so a class that a command
never builds costs it nothing.

``@frozen`` and ``@mutable`` stand for ``@dataclass(frozen=True)`` and ``@dataclass``,
with the stdlib's semantics for what the project uses: ``slots``,
``field(default=, default_factory=, repr=, compare=)``, ``__post_init__``, ``ClassVar``
annotations left out, and ``replace``, ``fields``, ``asdict``. tests/core/test_record.py
holds each of them against ``dataclasses``.
"""

from __future__ import annotations

import sys
from operator import attrgetter

TYPE_CHECKING = False  # typing's own flag, without importing typing when run
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")

_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "MISSING"})()
_FACTORY: Any = type("_Factory", (), {"__repr__": lambda self: "<factory>"})()


class FrozenInstanceError(AttributeError):
    """Raised on assigning to (or deleting) a field of a frozen record."""


class Field:
    """One field of a record, as ``fields()`` returns it."""

    __slots__ = ("name", "default", "default_factory", "repr", "compare")

    def __init__(
        self,
        default: Any = _MISSING,
        default_factory: Any = _MISSING,
        repr: bool = True,
        compare: bool = True,
    ) -> None:
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING or self.default_factory is not _MISSING

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r})"


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | Any = _MISSING,
    repr: bool = True,
    compare: bool = True,
) -> Any:
    """A field with a default made per instance, or left out of ``repr`` or ``==``."""
    return Field(default, default_factory, repr, compare)


def frozen(cls: Any = None, /, *, slots: bool = False) -> Any:
    """A record whose fields cannot be assigned: ``@frozen`` or ``@frozen(slots=True)``.
    Equal records hash alike, so they can be set members and dict keys."""
    return _decorate(cls, frozen=True, slots=slots)


def mutable(cls: Any = None, /, *, slots: bool = False) -> Any:
    """A record whose fields can be assigned (and which is therefore unhashable)."""
    return _decorate(cls, frozen=False, slots=slots)


def _decorate(cls: Any, frozen: bool, slots: bool) -> Any:
    def wrap(cls: type[T]) -> type[T]:
        return _make(cls, frozen, slots)

    return wrap if cls is None else wrap(cls)


def fields(value: Any) -> tuple[Field, ...]:
    """The fields of a record or record class, in ``__init__`` order."""
    try:
        return (value if isinstance(value, type) else type(value)).__record_fields__
    except AttributeError:
        raise TypeError(f"{value!r} is not a record") from None


def is_record(value: Any) -> bool:
    """Whether ``value`` is a record instance (not a record class)."""
    return hasattr(type(value), "__record_fields__")


def replace(value: T, /, **changes: Any) -> T:
    """A new record like ``value`` with ``changes``; ``value`` itself is left as it is."""
    for f in fields(value):
        if f.name not in changes:
            changes[f.name] = getattr(value, f.name)
    return type(value)(**changes)


def asdict(value: Any) -> dict[str, Any]:
    """A record as a dict, records inside it too (as ``dataclasses.asdict``)."""
    if not is_record(value):
        raise TypeError("asdict() should be called on record instances")
    return _asdict(value)


def _asdict(value: Any) -> Any:
    if is_record(value):
        return {f.name: _asdict(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
        return type(value)(*[_asdict(v) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_asdict(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_asdict(k), _asdict(v)) for k, v in value.items())
    import copy  # here: only the relocation plan's JSON calls asdict

    return copy.deepcopy(value)


def _make(cls: Any, frozen: bool, slots: bool) -> Any:
    found = {f.name: f for base in cls.__mro__[-1:0:-1] for f in _own_fields(base)}
    mine = _declared(cls)
    found.update((f.name, f) for f in mine)
    made = tuple(found.values())
    follows_default = False
    for f in made:
        if f.has_default:
            follows_default = True
        elif follows_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
    for f in mine:  # as the stdlib: the class keeps a plain default, not the Field
        if isinstance(cls.__dict__.get(f.name), Field):
            if f.default is _MISSING:
                delattr(cls, f.name)
            else:
                setattr(cls, f.name, f.default)
    if slots:
        cls = _with_slots(cls, made, frozen)
    compared = tuple(f.name for f in made if f.compare)
    cls.__record_fields__ = made
    cls.__record_key__ = _getter(compared)
    cls.__record_repr__ = tuple(f.name for f in made if f.repr)
    cls.__record_frozen__ = frozen
    _set_new(cls, "__match_args__", tuple(f.name for f in made))
    _set_new(cls, "__init__", _first_init(cls))
    _set_new(cls, "__repr__", _repr)
    _set_new(cls, "__eq__", _eq)
    _set_hash(cls, frozen)
    if frozen:
        for name, method in (("__setattr__", _frozen_setattr), ("__delattr__", _frozen_delattr)):
            if name in cls.__dict__:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}")
            setattr(cls, name, method)
    return cls


def _own_fields(base: type) -> tuple[Field, ...]:
    return base.__dict__.get("__record_fields__", ())


def _declared(cls: type) -> list[Field]:
    declared = []
    for name, kind in cls.__dict__.get("__annotations__", {}).items():
        if _is_classvar(kind):
            continue
        value = cls.__dict__.get(name, _MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        if f.default is not _MISSING and type(f.default).__hash__ is None:
            raise ValueError(
                f"mutable default {type(f.default)} for field {name} is not allowed: "
                "use default_factory"
            )
        f.name = name
        declared.append(f)
    return declared


def _is_classvar(kind: Any) -> bool:
    if isinstance(kind, str):  # ``from __future__ import annotations``
        return kind.startswith(("ClassVar", "typing.ClassVar"))
    typing = sys.modules.get("typing")  # a real ClassVar means typing is loaded already
    return typing is not None and (
        kind is typing.ClassVar or typing.get_origin(kind) is typing.ClassVar
    )


def _set_new(cls: type, name: str, value: Any) -> None:
    if name not in cls.__dict__:
        setattr(cls, name, value)


def _set_hash(cls: type, frozen: bool) -> None:
    # The stdlib's rule for eq=True: a class's own __hash__ stays; otherwise frozen
    # records hash their compared fields and mutable ones are unhashable.
    own = cls.__dict__.get("__hash__", _MISSING)
    if own is not _MISSING and not (own is None and "__eq__" in cls.__dict__):
        return
    cls.__hash__ = _hash if frozen else None  # type: ignore[assignment]


def _with_slots(cls: Any, made: tuple[Field, ...], frozen: bool) -> Any:
    names = tuple(f.name for f in made)
    body = {k: v for k, v in cls.__dict__.items() if k not in names}
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    body["__slots__"] = names
    if frozen:  # pickling would otherwise assign through the frozen __setattr__
        body.setdefault("__getstate__", _slots_getstate)
        body.setdefault("__setstate__", _slots_setstate)
    new = type(cls)(cls.__name__, cls.__bases__, body)
    new.__qualname__ = cls.__qualname__
    return new


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple]:
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda value: (one(value),)
    return lambda value: ()


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        key = self.__record_key__
        return key(self) == key(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self.__record_key__(self))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_repr__)
    return f"{type(self).__qualname__}({shown})"


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _slots_getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in self.__record_fields__]


def _slots_setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(self.__record_fields__, state, strict=True):
        object.__setattr__(self, f.name, value)


def _first_init(cls: Any) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init = _compiled_init(cls)
        cls.__init__ = init  # from now on, straight to the compiled one
        init(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _compiled_init(cls: Any) -> Callable[..., None]:
    """The class's ``__init__``, compiled like the stdlib's: positional or keyword
    parameters with their defaults, values stored straight into the instance."""
    made: tuple[Field, ...] = cls.__record_fields__
    frozen, slotted = cls.__record_frozen__, "__slots__" in cls.__dict__
    scope: dict[str, Any] = {"__r_set": object.__setattr__, "__r_factory": _FACTORY}
    params, lines = ["self"], []
    if frozen and not slotted:
        lines.append("__r_dict = self.__dict__")
    for f in made:
        value = f.name
        if f.default_factory is not _MISSING:
            params.append(f"{f.name}=__r_factory")
            scope[f"__r_make_{f.name}"] = f.default_factory
            value = f"__r_make_{f.name}() if {f.name} is __r_factory else {f.name}"
        elif f.default is not _MISSING:
            params.append(f"{f.name}=__r_default_{f.name}")
            scope[f"__r_default_{f.name}"] = f.default
        else:
            params.append(f.name)
        if frozen and slotted:
            lines.append(f"__r_set(self, {f.name!r}, {value})")
        elif frozen:
            lines.append(f"__r_dict[{f.name!r}] = {value}")
        else:
            lines.append(f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        lines.append("self.__post_init__()")
    source = f"def __init__({', '.join(params)}):\n" + "".join(
        f"    {line}\n" for line in lines or ["pass"]
    )
    exec(source, scope)  # noqa: S102 - our own source, from the class's field names
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init
