"""Every table of the service, declared in one list so the metadata is complete wherever it is read
(the app factory, Alembic's autogenerate, the migrations-match-models test)."""

from timebank.appraisal import models as appraisal_models  # noqa: F401
from timebank.cobuilding import models as cobuilding_models  # noqa: F401 - cobuilding
from timebank.hours import models as hours_models  # noqa: F401
from timebank.joining import models as joining_models  # noqa: F401 - joining: join requests, import batches
from timebank.ledger import models as ledger_models  # noqa: F401
from timebank.notify import models as notify_models  # noqa: F401
from timebank.ops import models as ops_models  # noqa: F401
from timebank.people import models as people_models  # noqa: F401
from timebank.projects import models as projects_models  # noqa: F401 - projects (服务项目)
from timebank.redemption import models as redemption_models  # noqa: F401

# --- teams (志愿服务队) ---
from timebank.teams import models as teams_models  # noqa: F401
