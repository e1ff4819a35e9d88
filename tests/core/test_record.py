"""Records behave as the stdlib dataclasses they replace: each case builds the same class
both ways and compares what a caller can see."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from typing import ClassVar

import pytest

from omero_tui.core import record as rec
from omero_tui.core.record import FrozenInstanceError, field, frozen, mutable

FACTORY_CALLS: list[int] = []


def _factory() -> list[int]:
    FACTORY_CALLS.append(1)
    return [1]


def _pair(frozen_: bool) -> tuple[type, type]:
    """The same class as a stdlib dataclass and as a record."""

    def body() -> dict:
        return {
            "__annotations__": {
                "name": "str",
                "size": "int",
                "tags": "tuple[str, ...]",
                "items": "list[int]",
                "note": "str",
                "KIND": "ClassVar[str]",
            },
            "tags": (),
            "items": None,  # replaced per kind below
            "note": None,
            "KIND": "thing",
            "__module__": __name__,
            "__qualname__": "Thing",
        }

    std_body, rec_body = body(), body()
    std_body["items"] = dataclasses.field(default_factory=_factory)
    std_body["note"] = dataclasses.field(default="", repr=False, compare=False)
    rec_body["items"] = field(default_factory=_factory)
    rec_body["note"] = field(default="", repr=False, compare=False)
    std = dataclasses.dataclass(frozen=frozen_)(type("Thing", (), std_body))
    mine = (frozen if frozen_ else mutable)(type("Thing", (), rec_body))
    return std, mine


@pytest.mark.parametrize("frozen_", [True, False])
def test_construction_repr_and_equality_match_the_stdlib(frozen_: bool) -> None:
    std, mine = _pair(frozen_)
    for args, kwargs in [
        (("a", 1), {}),
        (("a", 1, ("x",)), {"note": "n"}),
        ((), {"name": "b", "size": 2, "items": [5]}),
    ]:
        a, b = std(*args, **kwargs), mine(*args, **kwargs)
        assert repr(a) == repr(b)
        assert vars(a) == vars(b)
        assert b == mine(*args, **kwargs)
        assert (b == mine("other", 9)) is False
        assert b != a  # another class is never equal, as between two dataclasses
    assert mine("a", 1, note="x") == mine("a", 1, note="y")  # compare=False
    assert mine.KIND == "thing" and "KIND" not in vars(mine("a", 1))
    assert [f.name for f in rec.fields(mine)] == [f.name for f in dataclasses.fields(std)]
    assert mine.__match_args__ == std.__match_args__


def test_default_factory_runs_per_instance_and_not_when_given() -> None:
    _, mine = _pair(True)
    FACTORY_CALLS.clear()
    one, two = mine("a", 1), mine("b", 2)
    assert one.items == [1] and one.items is not two.items
    mine("c", 3, items=[])
    assert len(FACTORY_CALLS) == 2


def test_errors_match_the_stdlib() -> None:
    std, mine = _pair(True)
    for cls in (std, mine):
        with pytest.raises(TypeError, match="missing 1 required positional argument: 'size'"):
            cls("a")
        with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
            cls("a", 1, colour="red")
    frozen_one = mine("a", 1)
    with pytest.raises(FrozenInstanceError):
        frozen_one.size = 2
    with pytest.raises(AttributeError):
        del frozen_one.name
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        frozen(type("Bad", (), {"__annotations__": {"a": "int", "b": "int"}, "a": 0}))
    with pytest.raises(ValueError, match="mutable default"):
        frozen(type("Bad", (), {"__annotations__": {"a": "list"}, "a": []}))


def test_hashing_follows_the_stdlib_rule() -> None:
    std, mine = _pair(True)
    assert hash(mine("a", 1, items=())) == hash(mine("a", 1, items=(), note="other"))
    assert hash(mine("a", 1, items=())) == hash(std("a", 1, items=()))
    assert len({mine("a", 1, items=()), mine("a", 1, items=())}) == 1
    _, mutable_one = _pair(False)
    assert mutable_one.__hash__ is None  # as a dataclass with eq and not frozen
    with pytest.raises(TypeError):
        hash(mutable_one("a", 1))
    own = frozen(type("Own", (), {"__annotations__": {"a": "int"}, "__hash__": lambda s: 7}))
    assert hash(own(1)) == 7


def test_replace_fields_and_asdict() -> None:
    std, mine = _pair(True)
    b = mine("a", 1, ("t",), note="n")
    changed = rec.replace(b, size=5)
    assert (changed.size, changed.note, b.size) == (5, "n", 1)
    outer = frozen(type("Outer", (), {"__annotations__": {"inner": "object", "more": "list"}}))
    value = outer(b, [b, {"k": b}])
    std_value = dataclasses.asdict(std("a", 1, ("t",), note="n"))
    assert rec.asdict(value) == {"inner": std_value, "more": [std_value, {"k": std_value}]}
    with pytest.raises(TypeError):
        rec.fields(object())
    assert rec.is_record(b) and not rec.is_record(mine) and not rec.is_record({})


@pytest.mark.parametrize("slots", [False, True])
def test_pickle_copy_and_slots(slots: bool) -> None:
    made = frozen(slots=slots)(
        type(
            "Slotted",
            (),
            {"__annotations__": {"a": "int", "b": "str"}, "b": "x", "__module__": __name__},
        )
    )
    globals()["Slotted"] = made  # pickle finds a class by its module and name
    try:
        one = made(1)
        assert pickle.loads(pickle.dumps(one)) == one
        assert copy.deepcopy(one) == one and copy.copy(one) == one
        assert hasattr(one, "__dict__") is not slots
        with pytest.raises(AttributeError):
            one.a = 2
    finally:
        del globals()["Slotted"]
    loose = mutable(slots=True)(type("Loose", (), {"__annotations__": {"a": "int"}}))
    item = loose(1)
    item.a = 2
    assert item.a == 2 and not hasattr(item, "__dict__")


def test_post_init_runs_after_the_fields_are_set() -> None:
    seen = []
    cls = mutable(
        type(
            "Post",
            (),
            {"__annotations__": {"a": "int"}, "__post_init__": lambda self: seen.append(self.a)},
        )
    )
    cls(4)
    assert seen == [4]


def test_a_real_classvar_annotation_is_not_a_field() -> None:
    cls = frozen(type("Real", (), {"__annotations__": {"a": int, "K": ClassVar[int]}, "K": 1}))
    assert [f.name for f in rec.fields(cls)] == ["a"]


def test_creating_records_loads_neither_dataclasses_nor_inspect() -> None:
    code = (
        "import sys\n"
        "from omero_tui.core.record import frozen, field\n"
        "@frozen\n"
        "class A:\n"
        "    x: int\n"
        "    y: list = field(default_factory=list)\n"
        "assert A(1) == A(1) and A(1).y == []\n"
        "print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
