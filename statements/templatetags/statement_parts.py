from django import template
from django.utils.safestring import SafeString

from statements.parts import PagePart

register = template.Library()


@register.simple_tag(takes_context=True)
def render_part(context: template.Context, part: PagePart) -> SafeString:
    """Draw one part with the page's context plus the part's own values."""
    part_template = context.template.engine.get_template(part.template)
    with context.push(**part.context):
        return part_template.render(context)
