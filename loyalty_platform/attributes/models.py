from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class AttributeDefinition(models.Model):
    """A typed attribute staff add to rewards or promotions so a POS can act on it, e.g.
    `mypos_discount_type` (single choice) or `mypos_product_code` (text)."""

    class Entity(models.TextChoices):
        REWARD = "reward", "Rewards"
        PROMOTION = "promotion", "Promotions"

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        BOOLEAN = "boolean", "Yes / no"
        CHOICE = "choice", "Single choice"
        MULTICHOICE = "multichoice", "Multiple choice"

    entity = models.CharField(
        max_length=12,
        choices=Entity.choices,
        help_text=_("Whether rewards or promotions carry this attribute."),
    )
    name = models.CharField(
        max_length=60,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", "lowercase letters, digits and underscores")],
        help_text="Internal name the API uses; prefix it with the integration, e.g. mypos_discount_type.",
    )
    label = models.CharField(
        max_length=120,
        help_text=_(
            'The attribute\'s name as staff read it, e.g. "Discount type"; the API uses the internal name.'
        ),
    )
    kind = models.CharField(
        max_length=12,
        choices=Kind.choices,
        help_text=_(
            "The value it takes: a text, a number, yes or no, one of the choices or several of them; the "
            "POS API returns it as that type."
        ),
    )
    choices = models.JSONField(default=list, blank=True, help_text='For choices: a list such as ["a", "b"].')
    required = models.BooleanField(
        default=False,
        help_text=_("Every reward or promotion saved from now on must give it a value."),
    )

    class Meta:
        ordering = ["entity", "name"]
        constraints = [models.UniqueConstraint(fields=["entity", "name"], name="attribute_name_per_entity")]

    def __str__(self) -> str:
        return f"{self.entity}.{self.name}"
