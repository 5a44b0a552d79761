"""The download link of a compiled letter too large to attach to its email.

The link names the compilation in a signed token (letter_mail.download_token):
whoever got the email may download the letter, nobody can guess another link,
and the link ends when retention erases the file.
"""

from django.http import FileResponse, Http404
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .letter_mail import compilation_for_token


@never_cache
@require_safe
def letter_download(request, token):
    compilation = compilation_for_token(token)
    if compilation is None or not compilation.pdf:
        raise Http404
    try:
        handle = compilation.pdf.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"letter-{compilation.letter.statement.slug}.pdf",
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Robots-Tag"] = "noindex"
    return response
