"""Which account a provider's identity signs in to (docs/login.md, "Linking").

An identity already linked signs in to its account. Otherwise a verified email decides: a
new address makes an account, an address an account has gets the identity linked. Local
registration never proves the address, so whoever registered it may not own the mailbox;
the provider has just proved that this person does. The mailbox owner wins: linking turns
the account's password off and ends its logins, so a squatter who registered the address
first loses the account instead of watching the owner's shows.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.oidc import Identity, OidcError
from cloud.auth.tokens import new_id
from cloud.db.models import OidcIdentity, TokenFamily, User
from cloud.db.types import utcnow

# verify_password refuses an empty hash: an account made by a provider has no password.
NO_PASSWORD = ""


async def account_for(db: AsyncSession, provider: str, identity: Identity) -> str:
    """The id of the account `identity` signs in to; the caller commits."""
    if not identity.email or not identity.email_verified:
        raise OidcError(
            "email_not_verified",
            f"{provider} has not verified this account's email address; verify it there "
            "and sign in again",
        )
    linked = await db.scalar(
        select(OidcIdentity.user_id).where(
            OidcIdentity.provider == provider, OidcIdentity.subject == identity.subject
        )
    )
    if linked is not None:
        return linked
    user = await db.scalar(select(User).where(User.email == identity.email))
    if user is None:
        user = User(
            id=new_id(),
            email=identity.email,
            display_name=(identity.name or identity.email.split("@")[0])[:64],
            password_hash=NO_PASSWORD,
        )
        db.add(user)
        await db.flush()
    elif user.password_hash != NO_PASSWORD:
        user.password_hash = NO_PASSWORD
        await db.execute(
            update(TokenFamily)
            .where(TokenFamily.user_id == user.id, TokenFamily.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason="oidc_linked")
        )
    db.add(OidcIdentity(provider=provider, subject=identity.subject, user_id=user.id))
    await db.flush()
    return user.id
