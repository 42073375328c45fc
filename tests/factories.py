import factory

from loyalty_platform.accounts.models import User
from loyalty_platform.programs.models import Program
from loyalty_platform.shops.models import Shop


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    name = factory.Sequence(lambda n: f"Shop {n}")


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"staff{n}@example.com")
    is_staff = True
    is_superuser = True
    password = factory.django.Password("correct horse battery")


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
