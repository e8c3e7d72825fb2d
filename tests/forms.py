"""A rendered HTML form read as a browser submits it: every named input, select and textarea, hidden and
visible, blanks included — a text/number/hidden input its value (blank if none), a radio or checkbox only
when checked (a checkbox's value defaulting to "on"), a select its selected option (else its first), a
textarea its text. Used by the end-to-end `submit` and the unit test that posts every page back."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self.names: list[str] = []  # every named control, in order, sent or not (unchecked boxes too)
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None
        self.forms = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms += 1
        elif tag == "input" and a.get("name"):
            self.names.append(a["name"])
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self.names.append(a["name"])
            self._select = {"name": a["name"], "first": None, "selected": None}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": "", "selected": "selected" in a}
        elif tag == "textarea" and a.get("name"):
            self.names.append(a["name"])
            self._textarea = {"name": a["name"], "text": ""}

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._option is not None and self._select is not None:
            value = self._option["value"] if self._option["value"] is not None else self._option["text"].strip()
            if self._select["first"] is None:
                self._select["first"] = value
            if self._option["selected"] and self._select["selected"] is None:
                self._select["selected"] = value
            self._option = None
        elif tag == "select" and self._select is not None:
            chosen = self._select["selected"] if self._select["selected"] is not None else self._select["first"]
            if chosen is not None:
                self.fields.append((self._select["name"], chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = self._textarea["text"]
            self.fields.append((self._textarea["name"], text[1:] if text.startswith("\n") else text))
            self._textarea = None


def form_fields(html: str) -> dict[str, str]:
    """What a browser sends for the (one) form of `html`, before the user changes anything."""
    reader = _FormReader()
    reader.feed(html)
    reader.close()
    assert reader.forms == 1, f"expected one form on the page, found {reader.forms}"
    return dict(reader.fields)


def control_names(html: str) -> list[str]:
    """Every named control of the page, whether a browser would send it or not."""
    reader = _FormReader()
    reader.feed(html)
    reader.close()
    return reader.names
