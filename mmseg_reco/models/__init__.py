from .augmentation import *  # noqa: F401,F403
from .decode_heads import *  # noqa: F401,F403
from .discriminators import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .matchers import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .semi_methods import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
