"""Settings, split by concern. Every value read from the environment goes through ``env``."""

from .api import *  # noqa: F403
from .base import *  # noqa: F403
from .portal import *  # noqa: F403
from .security import *  # noqa: F403
from .services import *  # noqa: F403
from .tenancy import *  # noqa: F403
from .wallet import *  # noqa: F403
