from django import template
from django.template import Engine
from django.utils.safestring import SafeString

from statements.parts import PagePart

register = template.Library()


@register.simple_tag(takes_context=True)
def render_part(context: template.Context, part: PagePart) -> SafeString:
    """Draw one part with the page's context plus the part's own values."""
    engine = context.template.engine if context.template else Engine.get_default()
    with context.push(**part.context):
        return engine.get_template(part.template).render(context)
