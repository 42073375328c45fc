import factory
from django.contrib.auth.models import Group

from loyalty_platform.accounts.models import User
from loyalty_platform.accounts.roles import OWNER
from loyalty_platform.programs.models import Program
from loyalty_platform.shops.models import Shop


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    name = factory.Sequence(lambda n: f"Shop {n}")


class StaffUserFactory(factory.django.DjangoModelFactory):
    """A merchant's staff member with one role group (an owner unless `role=` says otherwise);
    never a superuser, as in the product."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@example.com")
    is_staff = True
    is_superuser = False
    password = factory.django.Password("correct horse battery")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs) -> None:
        if create:
            self.groups.set([Group.objects.get(name=extracted or OWNER)])


class PointProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    kind = Program.Kind.POINT
    name = "Points"


class StampProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    kind = Program.Kind.STAMP
    name = "Coffee card"
    stamps_per_card = 10
    reward_name = "Free Coffee"
