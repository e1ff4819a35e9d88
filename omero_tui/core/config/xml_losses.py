"""What a rewrite of config.xml will not keep, said before it happens.

OMERO's writer rebuilds the whole file on every save (see ``xml_file``), and ours
writes the same bytes: XML comments, processing instructions, stray text and attributes
it does not know are gone afterwards. An admin's ``<!-- old NFS path, see ticket 42 -->``
is worth a sentence in the plan; the backup written next to config.xml keeps it.
The comment OMERO itself generates ("This file was generated at ...") is replaced by a
new one, not lost, and is not counted.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError, XMLPullParser

# Elements OMERO builds anew, so it drops their other attributes. A profile's own
# <properties> and every <property> it writes back as read: their unknown attributes
# survive OMERO's save, so ``xml_file`` refuses them instead (it could not keep them).
REBUILT: dict[str, set[str]] = {"icegrid": set(), "include": {"file"}}
ACTIVE = "__ACTIVE__"
GENERATED_MARK = "by the OmeroConfig system"
QUOTED = 60  # characters of a comment quoted in the plan


def save_losses(data: bytes) -> list[str]:
    """One phrase per kind of content a rewrite drops (none: []); unparsable XML: []."""
    parser = XMLPullParser(events=("start", "comment", "pi"))
    try:
        parser.feed(data)
        parser.close()
    except ParseError:
        return []  # the config checks refuse such a file anyway
    comments: list[str] = []
    instructions = 0
    root: Element | None = None
    generated_seen = False
    for event, element in parser.read_events():
        if event == "start" and root is None:
            root = element
        elif event == "comment":
            text = " ".join((element.text or "").split())
            if GENERATED_MARK in text and not generated_seen:
                generated_seen = True
                continue
            comments.append(text)
        elif event == "pi":
            instructions += 1
    losses = []
    if comments:
        example = comments[0] if len(comments[0]) <= QUOTED else comments[0][: QUOTED - 1] + "…"
        count = "an XML comment" if len(comments) == 1 else f"{len(comments)} XML comments"
        losses.append(f"{count} (<!-- {example} -->)")
    if instructions:
        losses.append(f"{instructions} processing instruction(s)")
    if root is not None:
        losses += _element_losses(root)
    return losses


def _element_losses(root: Element) -> list[str]:
    attributes: list[str] = []
    texts = 0
    includes = [e.get("file", "") for e in root.iter("include") if e.get("file") != "templates.xml"]
    for element in root.iter():
        known = _rebuilt_known(element)
        if known is not None:
            where = f"<{element.tag}{_id(element)}>"
            attributes += [f'{name}="{value}" on {where}' for name, value in element.attrib.items()
                           if name not in known]  # fmt: skip
        texts += sum(1 for part in (element.text, element.tail) if part and part.strip())
    losses = []
    if attributes:
        more = f" and {len(attributes) - 1} more" if len(attributes) > 1 else ""
        losses.append(f"unknown attribute {attributes[0]}{more}")
    if texts:
        losses.append(f"{texts} piece(s) of text between the elements")
    if includes:
        losses.append(f'<include file="{includes[0]}"> (OMERO includes only templates.xml)')
    return losses


def _rebuilt_known(element: Element) -> set[str] | None:
    """The attributes OMERO writes for an element it rebuilds; None: kept as read."""
    if element.tag == "properties":
        return {"id"} if element.get("id") == ACTIVE else None
    return REBUILT.get(str(element.tag))


def _id(element: Element) -> str:
    name = element.get("id") or element.get("name")
    return f' "{name}"' if name else ""


def losses_note(data: bytes) -> str | None:
    """The plan's sentence about it, or None when a rewrite keeps everything."""
    losses = save_losses(data)
    if not losses:
        return None
    only_comments = len(losses) == 1 and "XML comment" in losses[0]
    these = "these comments" if only_comments else "these"
    return (
        f"config.xml holds {'; '.join(losses)}, which OMERO's own writer drops too: "
        f"{these} will be dropped when config.xml is rewritten; the backup keeps them"
    )
