"""What a volunteer is told about their redemptions (held, confirmed, refused with the reason, expired), through
`timebank.notify`, from the rule that changes the redemption, in its transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.notify import notify
from timebank.notify.templates import beijing
from timebank.people.models import Merchant
from timebank.redemption.models import Redemption, Reward

# release reason -> kind; a volunteer's own cancellation needs no message.
RELEASE_KINDS = {"refused": "redemption.refused", "expired": "redemption.expired"}


def changed(session: Session, red: Redemption, kind: str) -> None:
    reward = session.get(Reward, red.reward_id)
    merchant = session.get(Merchant, red.merchant_id)
    params = {"reward": reward.name, "merchant": merchant.name, "points": red.points,
              "expires_at": beijing(red.expires_at), "reason": red.note or "商户未说明"}
    notify(session, red.person_id, kind, params, f"{kind}:{red.id}")


def released(session: Session, red: Redemption) -> None:
    kind = RELEASE_KINDS.get(str(red.release_reason))
    if kind is not None:
        changed(session, red, kind)
