"""Checking a PDF an organizer or a member uploads before it is stored or sent on.

The file goes to embassies and ministries under the alliance's name, and is
shown to the public once published: it must be a PDF that opens, and must carry
nothing a reader would run or unpack (JavaScript, a program to launch, embedded
files). The names are looked for in the parsed objects, not the raw bytes: there
they can hide in compressed object streams or behind #-escapes (/J#61vaScript).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

PDF_MAGIC = b"%PDF-"
# Keys whose presence means code, a program to start, or files inside the file.
JAVASCRIPT_KEYS = {"/JavaScript", "/JS"}
LAUNCH_KEYS = {"/Launch"}
EMBEDDED_KEYS = {"/EmbeddedFiles", "/EF"}
# Action types (/S) that run something; /OpenAction and /AA point at actions.
JAVASCRIPT_ACTIONS = {"/JavaScript"}
LAUNCH_ACTIONS = {"/Launch"}
# A PDF with more objects than this is refused rather than walked for ever.
MAX_OBJECTS = 200_000


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def check_uploaded_pdf(file) -> None:
    """Raise ValidationError saying what is wrong unless `file` is a PDF within
    LETTER_UPLOAD_LIMIT that opens and carries no JavaScript, launch action or
    embedded file. Reads the file from its start and leaves it there."""
    limit = settings.LETTER_UPLOAD_LIMIT
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, 2)
        size = file.tell()
    if size > limit:
        raise _refuse(
            _("The file is too big (%(size)s): the limit is %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)},
            "too_big",
        )
    file.seek(0)
    if file.read(len(PDF_MAGIC)) != PDF_MAGIC:
        file.seek(0)
        raise _refuse(_("The file is not a PDF: upload a PDF file."), "not_pdf")
    file.seek(0)
    try:
        reader = PdfReader(file, strict=False)
        if reader.is_encrypted:
            raise _refuse(
                _("The PDF is protected by a password: upload it without one."),
                "encrypted",
            )
        problem = _dangerous_content(reader)
    except ValidationError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError, OSError):
        raise _refuse(
            _("The file could not be read as a PDF: it may be damaged."), "unreadable"
        ) from None
    finally:
        file.seek(0)
    if problem:
        raise _refuse(problem, "unsafe")


def _dangerous_content(reader: PdfReader) -> str:
    """What makes the PDF unsafe, in words; "" when nothing does.

    Walks every object reachable from the trailer (the document catalog, its
    pages, annotations, name trees and outlines) once each.
    """
    seen: set[tuple[int, int]] = set()
    stack: list = [reader.trailer]
    walked = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            walked += 1
            if walked > MAX_OBJECTS:
                return _("The PDF has too many parts to be checked.")
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            keys = set(item.keys())
            action = item.get("/S")
            if isinstance(action, IndirectObject):
                action = action.get_object()
            action = action if isinstance(action, str) else None
            if keys & JAVASCRIPT_KEYS or action in JAVASCRIPT_ACTIONS:
                return _(
                    "The PDF contains JavaScript, which is not accepted: print it "
                    "to a new PDF and upload that."
                )
            if keys & LAUNCH_KEYS or action in LAUNCH_ACTIONS:
                return _(
                    "The PDF would start a program when opened, which is not "
                    "accepted: print it to a new PDF and upload that."
                )
            if keys & EMBEDDED_KEYS:
                return _(
                    "The PDF carries files inside it, which is not accepted: "
                    "upload the document alone."
                )
            # Values only: keys are names. The trailer's /Prev and /XRefStm are
            # offsets, not objects.
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return ""
