"""The organizers' pages for paper signatures: the blank sign-up sheet, the import of
typed-up sheets, and the charts of signatures over time and by country."""

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from signatories import charts as charts_svg
from signatories.paper import PaperImportError, import_paper_signatures
from signatories.sheets import sign_up_sheet_pdf
from statements.models import Statement


class PaperImportForm(forms.Form):
    statement = forms.ModelChoiceField(
        label=gettext_lazy("Statement"),
        queryset=Statement.objects.filter(accepts_signatures=True),
    )
    collected_by = forms.CharField(
        label=gettext_lazy("Collected by (organization)"), max_length=160
    )
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8, with a header line: name, country (two-letter code), and "
            "optionally organization, role, city, kind (person or organization)."
        ),
    )


class SheetForm(forms.Form):
    statement = forms.ModelChoiceField(
        label=gettext_lazy("Statement"),
        queryset=Statement.objects.filter(accepts_signatures=True),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language"), choices=settings.LANGUAGES, initial="en"
    )


class ChartForm(forms.Form):
    statement = forms.ModelChoiceField(
        label=gettext_lazy("Statement"),
        queryset=Statement.objects.filter(accepts_signatures=True),
    )


def sheet_view(model_admin, request):
    if not request.user.has_perm("signatories.add_signature"):
        raise PermissionDenied
    form = SheetForm(request.GET or None)
    if form.is_valid():
        statement = form.cleaned_data["statement"]
        pdf = sign_up_sheet_pdf(statement, form.cleaned_data["language"])
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="sign-up-sheet-{statement.slug}.pdf"'
        )
        return response
    return render(
        request,
        "admin/signatories/signature/chart.html",
        {
            **model_admin.admin_site.each_context(request),
            "form": form,
            "charts": [],
            "title": _("Print a blank sign-up sheet"),
            "opts": model_admin.model._meta,
        },
    )


def chart_view(model_admin, request):
    if not request.user.has_perm("signatories.view_signature"):
        raise PermissionDenied
    form = ChartForm(request.GET or None)
    charts = []
    if form.is_valid():
        statement = form.cleaned_data["statement"]
        charts = [
            (_("Signatures per day, last 30 days"),
             mark_safe(charts_svg.vertical_bars(  # noqa: S308 - labels escaped
                 charts_svg.signatures_per_day(statement),
                 title=_("Signatures per day")))),
            (_("Signatures by country"),
             mark_safe(charts_svg.horizontal_bars(  # noqa: S308 - labels escaped
                 charts_svg.signatures_per_country(statement),
                 title=_("Signatures by country")))),
        ]  # fmt: skip
    return render(
        request,
        "admin/signatories/signature/chart.html",
        {
            **model_admin.admin_site.each_context(request),
            "form": form,
            "charts": charts,
            "title": _("Signatures over time and by country"),
            "opts": model_admin.model._meta,
        },
    )


def paper_view(model_admin, request):
    if not request.user.has_perm("signatories.add_signature"):
        raise PermissionDenied
    form = PaperImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            count = import_paper_signatures(
                statement=form.cleaned_data["statement"],
                data=form.cleaned_data["file"].read(),
                collected_by=form.cleaned_data["collected_by"],
                by=request.user,
            )
        except PaperImportError as error:
            form.add_error("file", str(error))
        else:
            model_admin.message_user(
                request, _("%(count)d paper signatures added.") % {"count": count}
            )
            return redirect("admin:signatories_signature_changelist")
    return render(
        request,
        "admin/signatories/signature/form_page.html",
        {
            **model_admin.admin_site.each_context(request),
            "form": form,
            "multipart": True,
            "title": _("Add signatures from paper sheets"),
            "opts": model_admin.model._meta,
        },
    )


def urls(model_admin) -> list:
    """The pages' URLs, under the signature admin's."""

    def view(function):
        return model_admin.admin_site.admin_view(
            lambda request: function(model_admin, request)
        )

    return [
        path("paper/", view(paper_view), name="signatories_signature_paper"),
        path("chart/", view(chart_view), name="signatories_signature_chart"),
        path("sheet/", view(sheet_view), name="signatories_signature_sheet"),
    ]
