"""Client tokens: short-lived secrets an app's backend mints for one end user (a `subject`),
so that a browser can call Threadline without the project key (like OpenAI Realtime's client
secrets).

A token is a JWT (RFC 7519) signed with HS256 by this server's secret: verifying one costs an
HMAC and no database lookup. It names its project, its subject and the assistants it may run,
and lasts `ttl_seconds` (15 minutes by default, a day at most). It cannot be revoked one by one:
it ends when it expires, or when the secret changes (which ends them all).
"""

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from models.errors import BadUserInput, Unauthenticated

ISSUER = "threadline"
AUDIENCE = "threadline-client"
ALGORITHM = "HS256"
DEFAULT_TTL_SECONDS = 15 * 60
MAX_TTL_SECONDS = 24 * 60 * 60
MAX_SUBJECT_LENGTH = 256
MAX_ASSISTANTS = 32
REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "exp", "jti", "project", "assistants"]
INVALID_TOKEN = "The client token is invalid."
EXPIRED_TOKEN = "The client token has expired; ask the app's backend for a new one."


@dataclass(frozen=True)
class ClientClaims:
    token_id: str
    project_id: str
    subject: str
    assistant_ids: frozenset[str]
    expires_at: float  # seconds since the epoch


def looks_like_token(secret: str) -> bool:
    """A JWT is three base64url parts; API keys and the admin key contain no dot."""
    return secret.count(".") == 2


def check_request(
    subject: str, assistant_ids: Iterable[str], ttl_seconds: int | None
) -> tuple[list[str], int]:
    """A token request's assistants (each once) and lifetime, or BAD_USER_INPUT."""
    if not subject.strip() or len(subject) > MAX_SUBJECT_LENGTH:
        raise BadUserInput(f"subject: give 1 to {MAX_SUBJECT_LENGTH} characters, not blank.")
    ttl = DEFAULT_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    if not 1 <= ttl <= MAX_TTL_SECONDS:
        raise BadUserInput(f"ttlSeconds: must be between 1 and {MAX_TTL_SECONDS}, got {ttl}.")
    granted = list(dict.fromkeys(assistant_ids))
    if len(granted) > MAX_ASSISTANTS:
        raise BadUserInput(f"assistantIds: at most {MAX_ASSISTANTS} assistants.")
    return granted, ttl


class ClientTokens:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def mint(
        self,
        project_id: str,
        subject: str,
        assistant_ids: Iterable[str],
        ttl_seconds: int | None = None,
    ) -> tuple[str, datetime]:
        """A signed token and when it expires. That the assistants exist in the project is
        the caller's to check first (it needs the database)."""
        granted, ttl = check_request(subject, assistant_ids, ttl_seconds)
        issued = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": issued,
            "exp": issued + ttl,
            "jti": secrets.token_urlsafe(16),
            "project": project_id,
            "assistants": granted,
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return token, datetime.fromtimestamp(issued + ttl, UTC)

    def verify(self, token: str) -> ClientClaims:
        """The claims of a token this server signed and that has not expired; anything else
        (another secret, another algorithm or `none`, a changed claim) is UNAUTHENTICATED."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],  # never `none`, never the one the token names
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=0,  # every server checks against the same clock
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated(EXPIRED_TOKEN) from None
        except jwt.PyJWTError:
            raise Unauthenticated(INVALID_TOKEN) from None
        subject, project_id = claims["sub"], claims["project"]
        granted, token_id = claims["assistants"], claims["jti"]
        well_formed = (
            isinstance(subject, str)
            and 0 < len(subject) <= MAX_SUBJECT_LENGTH
            and isinstance(project_id, str)
            and isinstance(token_id, str)
            and isinstance(granted, list)
            and len(granted) <= MAX_ASSISTANTS
            and all(isinstance(item, str) for item in granted)
            and isinstance(claims["exp"], int)
        )
        if not well_formed:
            raise Unauthenticated(INVALID_TOKEN)
        return ClientClaims(token_id, project_id, subject, frozenset(granted), claims["exp"])
