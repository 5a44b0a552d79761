"""The organizers' pages for paper signatures: the blank sign-up sheet, the import of
typed-up sheets, and the charts of signatures over time and by country.

The import is two steps: upload, then a check page that says what would be added and
what repeats, then confirm. Between the two the file stays on the server, in the
organizer's own session (compressed, one file at a time, under MAX_FILE_BYTES, for
an hour): the confirmation carries only a token and the organizer's choice, and the
file is read and checked again before anything is written.
"""

import base64
import secrets
import time
import zlib

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from signatories import charts as charts_svg
from signatories.paper import (
    COLUMNS,
    MAX_FILE_BYTES,
    PaperCheck,
    PaperCheckChanged,
    PaperImportError,
    check_paper_file,
    import_paper_signatures,
    read_paper_file,
    too_large_message,
)
from signatories.sheets import PAPER_SIZES, sign_up_sheet_pdf
from statements.models import Statement

ADD = "signatories.add_signature"
VIEW = "signatories.view_signature"
PENDING_KEY = "signatories.paper_import"
PENDING_SECONDS = 3600
# Problems listed on the page; the count says how many more there are.
PROBLEMS_SHOWN = 300


def statements_taking_signatures():
    return Statement.objects.filter(accepts_signatures=True)


class PaperImportForm(forms.Form):
    statement = forms.ModelChoiceField(
        label=gettext_lazy("Statement"), queryset=statements_taking_signatures()
    )
    collected_by = forms.CharField(
        label=gettext_lazy("Collected by (organization)"), max_length=160
    )
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8, with a header line naming the columns: name and country, and "
            "optionally organization, role, city, kind (person or organization). "
            "Countries by name in any of the site's languages or by two-letter code."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(too_large_message(upload.size))
        return upload


class ConfirmForm(forms.Form):
    repeats = forms.ChoiceField(
        label=gettext_lazy("Repeated rows"),
        choices=[
            ("skip", gettext_lazy("Skip them: they are already there")),
            ("add", gettext_lazy("Add them anyway")),
        ],
        initial="skip",
        widget=forms.RadioSelect,
    )
    seen = forms.CharField(widget=forms.HiddenInput, max_length=64)


class SheetForm(forms.Form):
    statement = forms.ModelChoiceField(
        label=gettext_lazy("Statement"), queryset=statements_taking_signatures()
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language"), choices=settings.LANGUAGES, initial="en"
    )
    paper = forms.ChoiceField(
        label=gettext_lazy("Paper"),
        choices=[(size, size) for size in PAPER_SIZES],
        initial="A4",
        required=False,
    )
    pages = forms.IntegerField(
        label=gettext_lazy("Pages"), min_value=1, max_value=20, initial=1,
        required=False,
    )  # fmt: skip


class ChartForm(forms.Form):
    statement = forms.ModelChoiceField(
        label=gettext_lazy("Statement"), queryset=statements_taking_signatures()
    )


def page_context(model_admin, request, title: str, **context) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        **context,
    }


def sheet_view(model_admin, request):
    if not request.user.has_perm(ADD):
        raise PermissionDenied
    form = SheetForm(request.GET or None)
    if form.is_valid():
        statement = form.cleaned_data["statement"]
        pdf = sign_up_sheet_pdf(
            statement,
            form.cleaned_data["language"],
            paper=form.cleaned_data["paper"] or "A4",
            pages=form.cleaned_data["pages"] or 1,
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="sign-up-sheet-{statement.slug}.pdf"'
        )
        return response
    return render(
        request,
        "admin/signatories/signature/chart.html",
        page_context(
            model_admin,
            request,
            _("Print a blank sign-up sheet"),
            form=form,
            submit=_("Download the PDF"),
        ),
    )


def chart_view(model_admin, request):
    if not request.user.has_perm(VIEW):
        raise PermissionDenied
    form = ChartForm(request.GET or None)
    context: dict = {"form": form, "submit": _("Show the charts")}
    if form.is_valid():
        statement = form.cleaned_data["statement"]
        context.update(
            statement=statement,
            summary=charts_svg.chart_summary(statement),
            charts=charts_svg.statement_charts(statement),
        )
    return render(
        request,
        "admin/signatories/signature/chart.html",
        page_context(
            model_admin, request, _("Signatures over time and by country"), **context
        ),
    )


# --- Paper import ----------------------------------------------------------------


def _keep_pending(
    request, *, statement: Statement, collected_by: str, file_name: str, data: bytes
) -> str:
    token = secrets.token_urlsafe(16)
    # One pending file per session: a new upload replaces the one not confirmed.
    request.session[PENDING_KEY] = {
        "token": token,
        "statement": statement.pk,
        "collected_by": collected_by,
        "file_name": file_name[:255],
        "data": base64.b64encode(zlib.compress(data)).decode("ascii"),
        "stored_at": time.time(),
    }
    return token


def _drop_expired(request) -> dict | None:
    """The file kept in the session, unless its hour is over: then it is dropped.

    Dropped as soon as the organizer is back on these pages, rather than kept with
    the session for weeks: it holds the names of people who signed on paper.
    """
    pending = request.session.get(PENDING_KEY)
    if not pending:
        return None
    if time.time() - pending.get("stored_at", 0) > PENDING_SECONDS:
        del request.session[PENDING_KEY]
        return None
    return pending


def _pending(request, token: str) -> dict | None:
    pending = _drop_expired(request)
    if pending is None:
        return None
    if not secrets.compare_digest(str(pending.get("token", "")), token):
        return None
    return pending


def _pending_data(pending: dict) -> bytes:
    return zlib.decompress(base64.b64decode(pending["data"]))


def paper_view(model_admin, request):
    """Step one: the file, checked for problems before anything else."""
    if not request.user.has_perm(ADD):
        raise PermissionDenied
    _drop_expired(request)
    form = PaperImportForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        try:
            read_paper_file(data=data)
        except PaperImportError as error:
            problems = error.problems
        else:
            token = _keep_pending(
                request,
                statement=form.cleaned_data["statement"],
                collected_by=form.cleaned_data["collected_by"],
                file_name=upload.name or "",
                data=data,
            )
            return redirect("admin:signatories_signature_paper_check", token=token)
    return render(
        request,
        "admin/signatories/paper/upload.html",
        page_context(
            model_admin, request, _("Add signatures from paper sheets"),
            form=form, columns=COLUMNS, problems=problems[:PROBLEMS_SHOWN],
            problems_count=len(problems),
            problems_hidden=max(len(problems) - PROBLEMS_SHOWN, 0),
            max_bytes=MAX_FILE_BYTES,
        ),
    )  # fmt: skip


def _render_check(model_admin, request, pending, check: PaperCheck, form, status=200):
    return render(
        request,
        "admin/signatories/paper/check.html",
        page_context(
            model_admin, request, _("Check the paper signatures"),
            form=form, check=check, pending=pending,
        ),
        status=status,
    )  # fmt: skip


def paper_check_view(model_admin, request, token: str):
    """Step two: what the import would add and repeat; confirming adds it."""
    if not request.user.has_perm(ADD):
        raise PermissionDenied
    pending = _pending(request, token)
    statement = (
        statements_taking_signatures().filter(pk=pending["statement"]).first()
        if pending
        else None
    )
    if pending is None or statement is None:
        messages.warning(
            request,
            _("That check is no longer available: upload the file again."),
        )
        return redirect("admin:signatories_signature_paper")
    if request.method == "POST" and "cancel" in request.POST:
        del request.session[PENDING_KEY]
        messages.info(request, _("Nothing was added, and the file is not kept."))
        return redirect("admin:signatories_signature_paper")
    data = _pending_data(pending)
    if request.method != "POST":
        check = check_paper_file(statement=statement, data=data)
        form = ConfirmForm(initial={"seen": check.fingerprint(), "repeats": "skip"})
        return _render_check(model_admin, request, pending, check, form)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        check = check_paper_file(statement=statement, data=data)
        return _render_check(model_admin, request, pending, check, form, status=400)
    try:
        paper_import = import_paper_signatures(
            statement=statement,
            data=data,
            file_name=pending["file_name"],
            collected_by=pending["collected_by"],
            by=request.user,
            add_repeats=form.cleaned_data["repeats"] == "add",
            expected_check=form.cleaned_data["seen"],
        )
    except PaperCheckChanged as changed:
        messages.warning(
            request,
            _(
                "The statement's signatures changed since this page was shown: "
                "nothing was added. Look again and confirm."
            ),
        )
        form = ConfirmForm(
            initial={"seen": changed.check.fingerprint(), "repeats": "skip"}
        )
        return _render_check(
            model_admin, request, pending, changed.check, form, status=409
        )
    except PaperImportError as error:
        del request.session[PENDING_KEY]
        for problem in error.problems:
            messages.error(request, str(problem))
        return redirect("admin:signatories_signature_paper")
    del request.session[PENDING_KEY]
    messages.success(
        request,
        _(
            "%(added)d paper signatures added to “%(statement)s”; "
            "%(skipped)d repeated rows skipped."
        )
        % {
            "added": paper_import.added,
            "skipped": paper_import.skipped,
            "statement": statement,
        },
    )
    return redirect("admin:signatories_signature_changelist")


def urls(model_admin) -> list:
    """The pages' URLs, under the signature admin's."""

    def view(function):
        return model_admin.admin_site.admin_view(
            lambda request, **kwargs: function(model_admin, request, **kwargs)
        )

    return [
        path("paper/", view(paper_view), name="signatories_signature_paper"),
        path(
            "paper/<str:token>/",
            view(paper_check_view),
            name="signatories_signature_paper_check",
        ),
        path("chart/", view(chart_view), name="signatories_signature_chart"),
        path("sheet/", view(sheet_view), name="signatories_signature_sheet"),
    ]
